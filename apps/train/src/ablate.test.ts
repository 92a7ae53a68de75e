/**
 * `ablate` on the tiny dataset, restricted to two variants, one task and one seed: phase 1 is trained
 * once and shared, each variant gets its own phase 2 (or its own phase 1 for "deeper anchor"), every
 * row is evaluated closed-loop on the same seed, and the table lands in ablation.json for the report.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyConfig, xvlaPolicyConfig } from '@anchor-refine/policy';
import { describe, expect, it } from 'vitest';
import { ablate, ablationVariants, formatAblation } from './ablate.js';
import { RUN_FILES } from './run-layout.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';

describe('ablate', () => {
  it("lists the spec table's variants", () => {
    const names = ablationVariants(policyConfig('tiny')).map((v) => v.name);
    expect(names).toEqual([
      'full AnchorRefine',
      'w/o gripper refinement',
      'naive gripper MSE',
      'w/o detached anchor',
      'explicit anchor concatenation',
      'phase 1 only, deeper anchor',
      'refine (direct action)',
    ]);
    // Capacity-matched deeper anchor: the anchor gains the refiner's trunk layers.
    const deeper = (preset: 'small' | 'paper') =>
      (ablationVariants(policyConfig(preset))[5].overrides as { anchor: { depth: number } }).anchor.depth;
    expect(deeper('small')).toBe(4 + 1);
    expect(deeper('paper')).toBe(12 + 4);
  });

  it('lists the variants that exist on X-VLA; the deeper anchor is a deeper denoiser', () => {
    const base = xvlaPolicyConfig('tiny', { armDim: 5, stateDim: 5 });
    const vs = ablationVariants(base);
    expect(vs.map((v) => v.name)).toEqual([
      'full AnchorRefine',
      'w/o gripper refinement',
      'naive gripper MSE',
      'phase 1 only, deeper anchor',
    ]);
    const deeper = vs[3].overrides as { backbone: { config: { depth: number } } };
    expect(deeper.backbone.config.depth).toBe(3); // tiny denoiser depth 2 × 1.5
  });

  it('trains shared phase 1 once, each variant, evaluates all on the same seeds', async () => {
    const data = await tinyDataset(1);
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'ablate-')), {
      anchor: { steps: 6, batchSize: 8 },
      refine: { steps: 4, batchSize: 8 },
      valFraction: 0,
    });
    const r = await ablate(cfg, {
      episodes: 1,
      tasks: ['push_pen'],
      only: ['explicit anchor concatenation', 'phase 1 only, deeper anchor'],
      progress: false,
      log: () => {},
    });
    expect(r.variants.map((v) => v.name)).toEqual([
      'anchor-only (phase 1)',
      'explicit anchor concatenation',
      'phase 1 only, deeper anchor',
    ]);
    for (const v of r.variants) expect(v.tasks[0].episodes).toBe(1);
    expect(existsSync(join(cfg.outDir, 'ablation', 'shared', 'anchor', 'final'))).toBe(true);
    const deeper = JSON.parse(
      readFileSync(
        join(cfg.outDir, 'ablation', 'phase-1-only-deeper-anchor', 'anchor', 'final', 'config.json'),
        'utf8',
      ),
    );
    expect(deeper.anchor.depth).toBe(3);
    expect(deeper.refine.enabled).toBe(false);
    expect(formatAblation(r)).toMatch(/explicit anchor concatenation/);
    expect(JSON.parse(readFileSync(join(cfg.outDir, RUN_FILES.ablation), 'utf8')).variants).toHaveLength(3);

    // --anchor: the variants start from a given phase-1 checkpoint; no shared phase 1 is trained.
    const cfg2 = { ...cfg, outDir: mkdtempSync(join(tmpdir(), 'ablate-anchor-')) };
    const shared = join(cfg.outDir, 'ablation', 'shared', 'anchor', 'final');
    const r2 = await ablate(cfg2, {
      episodes: 1,
      tasks: ['push_pen'],
      only: ['w/o gripper refinement'],
      anchor: shared,
      progress: false,
      log: () => {},
    });
    expect(r2.variants.map((v) => v.name)).toEqual(['anchor-only (phase 1)', 'w/o gripper refinement']);
    expect(r2.variants[0]).toEqual(r.variants[0]); // the same anchor on the same seeds
    expect(existsSync(join(cfg2.outDir, 'ablation', 'shared'))).toBe(false);
    await expect(
      ablate(cfg2, { episodes: 1, anchor: join(cfg2.outDir, 'nope'), log: () => {} }),
    ).rejects.toThrow(/ablate --anchor: .*nope is not a policy checkpoint/);
  });
});
