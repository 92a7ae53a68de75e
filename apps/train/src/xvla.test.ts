/**
 * `anchor-refine train --backbone xvla` through the real CLI on a tiny sim dataset: both phases, an
 * X-VLA checkpoint (the denoiser bit-identical after phase 2), the closed-loop sim evaluation in both
 * modes, and a phase-1 / config backbone mismatch refused naming the field.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, XvlaAnchorRefinePolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainConfig, validateTrainConfig } from './config.js';
import { evalClosedLoop } from './eval-closed-loop.js';
import { readJsonl } from './metrics.js';
import { finish, startTrain } from './test-utils/cli.js';
import { tinyConfig, tinyDataset, writeConfig } from './test-utils/fixture.js';

let cfg: TrainConfig;
let cfgPath: string;

describe('training app with the X-VLA backbone', () => {
  beforeAll(async () => {
    const data = await tinyDataset(1);
    // A GR-1 config file; the flag switches the backbone.
    cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'train-xvla-')), {
      anchor: { steps: 6, batchSize: 4, lr: 3e-3, warmupSteps: 1 },
      refine: { steps: 4, batchSize: 4, lr: 1e-3, warmupSteps: 1 },
      checkpointEvery: 3,
      validateEvery: 0,
      policy: { preset: 'tiny', overrides: { seed: 1, anchor: { steps: 2 } } },
    });
    cfgPath = writeConfig(cfg);
  }, 120_000);

  it('trains both phases with --backbone xvla; phase 2 leaves the denoiser bit-identical', async () => {
    const a = await finish(startTrain(cfgPath, ['--backbone', 'xvla'], 'anchor'));
    expect(a.code, a.out).toBe(0);
    const r = await finish(startTrain(cfgPath, ['--backbone', 'xvla'], 'refine'));
    expect(r.code, r.out).toBe(0);
    const lines = readJsonl(join(cfg.outDir, 'anchor', 'metrics.jsonl'));
    expect(typeof lines[0].position_loss).toBe('number'); // X-VLA's own objective terms
    const p1 = await loadPolicy(join(cfg.outDir, 'anchor', 'final'));
    const p2 = await loadPolicy(join(cfg.outDir, 'refine', 'final'));
    expect(p2).toBeInstanceOf(XvlaAnchorRefinePolicy);
    const before = p1.stateDict();
    const after = p2.stateDict();
    let compared = 0;
    for (const [k, v] of after) {
      if (k.startsWith('refiner.')) continue;
      expect(Array.from(v.dataSync()), k).toEqual(Array.from((before.get(k) as tf.Tensor).dataSync()));
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
    tf.dispose([...before.values(), ...after.values()]);
    p1.dispose();
    p2.dispose();
  }, 300_000);

  it('evaluates the X-VLA policy closed-loop in both modes on the same seeds', async () => {
    const res = await evalClosedLoop({
      checkpoint: join(cfg.outDir, 'refine', 'final'),
      tasks: ['pick_cube'],
      episodes: 1,
      workers: 1,
    });
    for (const m of ['anchor', 'refine'] as const) {
      const eps = res.results[m]?.episodes ?? [];
      expect(eps.map((e) => [e.task, e.seed])).toEqual([['pick_cube', 1_000_000]]);
      expect(eps[0].steps).toBeGreaterThan(0);
    }
  }, 300_000);

  it('refuses a refine phase whose config backbone differs from the phase-1 policy', async () => {
    const gr1 = writeConfig(
      validateTrainConfig({ ...cfg, outDir: mkdtempSync(join(tmpdir(), 'train-xvla-gr1-')) }),
    );
    const r = await finish(startTrain(gr1, ['--init', join(cfg.outDir, 'anchor', 'final')], 'refine'));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/backbone 'xvla' but the config says 'gr1' \(policy\.backbone\)/);
  }, 120_000);
});
