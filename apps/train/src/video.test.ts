/**
 * GR-1's future-frame objective through the trainer (`policy.overrides.video`): phase 1 feeds the
 * sampler's future frames (shifted with the observed ones) to L_anc + w·L_video and logs video_loss,
 * the loss falls, and phase 2 starts from that checkpoint (the [OBS] queries and decoder load and stay
 * frozen; phase 2 logs no video loss).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnchorRefinePolicy, loadPolicy } from '@anchor-refine/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import { readJsonl } from './metrics.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { buildPolicyConfig, trainPhase } from './train.js';

const quiet = { progress: false, log: () => {} };
const video = { queries: 2, offset: 2, weight: 0.5, dim: 16, depth: 1, heads: 2, targetSize: 16 };

describe('train with policy.overrides.video', () => {
  let data: string;
  beforeAll(async () => {
    data = await tinyDataset(2);
  });

  it('phase 1 trains and logs the video loss; phase 2 and inference run from its checkpoint', async () => {
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'video-')), {
      policy: { preset: 'tiny', overrides: { seed: 1, video } },
      anchor: { steps: 24, batchSize: 8, lr: 3e-3, warmupSteps: 2 },
      augmentShift: 2,
      validateEvery: 12,
    });
    const { finalDir } = await trainPhase(cfg, 'anchor', quiet);
    const rows = readJsonl(join(cfg.outDir, 'anchor', 'metrics.jsonl')) as Array<
      Record<string, number | string>
    >;
    const train = rows.filter((r) => r.kind === 'train').map((r) => r.video_loss as number);
    expect(train).toHaveLength(24);
    expect(train.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(train.slice(-4))).toBeLessThan(mean(train.slice(0, 4)));
    expect(rows.some((r) => r.kind === 'val' && typeof r.val_video_loss === 'number')).toBe(true);

    const r2 = await trainPhase(cfg, 'refine', { ...quiet, init: finalDir });
    const refineRows = readJsonl(join(cfg.outDir, 'refine', 'metrics.jsonl')) as Array<
      Record<string, unknown>
    >;
    expect(refineRows.some((r) => 'video_loss' in r)).toBe(false);
    const p1 = (await loadPolicy(finalDir)) as AnchorRefinePolicy;
    const p2 = (await loadPolicy(r2.finalDir)) as AnchorRefinePolicy;
    expect(Array.from(p2.video!.queries.dataSync())).toEqual(Array.from(p1.video!.queries.dataSync())); // frozen in phase 2
    p1.dispose();
    p2.dispose();
  });

  it('is refused on X-VLA, naming the field', () => {
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'video-xvla-')), {
      policy: { backbone: 'xvla', preset: 'tiny', overrides: { seed: 1, video } },
    });
    expect(() => buildPolicyConfig(cfg)).toThrow(/policy\.overrides\.video.*'gr1'/);
  });
});
