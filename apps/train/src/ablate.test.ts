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
import { ablate, ablationVariants, addPairedTests, formatAblation, pairAgainst } from './ablate.js';
import { type AblationRow, ANCHOR_ROW, type EpisodeOutcome, FULL_ROW, RUN_FILES } from './run-layout.js';
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
    for (const v of r.variants) {
      expect(v.tasks[0].episodes).toBe(1);
      expect(v.outcomes?.map((e) => [e.task, e.seed])).toEqual([['push_pen', 1_000_000]]);
      expect(v.outcomes?.[0].success).toBe(v.tasks[0].successes === 1);
    }
    // Both variants are paired with the anchor-only row on the one seed (no full row ran).
    for (const v of r.variants.slice(1)) {
      const p = v.paired?.[0];
      expect(v.paired).toHaveLength(1);
      expect(p?.against).toBe(ANCHOR_ROW);
      expect((p?.failToSuccess ?? 0) - (p?.successToFail ?? 0)).toBe(
        v.tasks[0].successes - r.variants[0].tasks[0].successes,
      );
    }
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

  it('pairs each row with the anchor-only and full rows, episode by episode (hand-computed)', () => {
    const out = (task: 'pick_cube' | 'push_pen', wins: number[]): EpisodeOutcome[] =>
      wins.map((w, i) => ({ task, seed: 1_000_000 + i, success: w === 1 }));
    const row = (name: string, pick: number[], push: number[]): AblationRow => ({
      name,
      tasks: [],
      average: 0,
      outcomes: [...out('pick_cube', pick), ...out('push_pen', push)],
    });
    const anchor = row(ANCHOR_ROW, [0, 0, 1, 1], [0, 1, 0, 0]);
    const full = row(FULL_ROW, [1, 0, 1, 1], [1, 1, 1, 0]); // F→S at pick 0, push 0 and push 2; no S→F
    const other = row('w/o gripper refinement', [1, 1, 0, 1], [0, 1, 0, 0]); // vs anchor: F→S 2, S→F 1

    const p = pairAgainst(full, anchor);
    expect(p).toMatchObject({ against: ANCHOR_ROW, failToSuccess: 3, successToFail: 0, gain: 3 / 8 });
    expect(p.pValue).toBeCloseTo(0.25, 12); // 2 · (1/2)³
    // McNemar on (2, 1): P(X ≤ 1 | n = 3) = 4/8, two-sided 1.
    expect(pairAgainst(other, anchor)).toMatchObject({
      failToSuccess: 2,
      successToFail: 1,
      pValue: 1,
      gain: 1 / 8,
    });
    // other vs full: pick 1 → S→F? seed 1: full 0, other 1 (F→S); seed 2: full 1, other 0 (S→F);
    // push seed 0 and 2: full 1, other 0 (S→F ×2).
    expect(pairAgainst(other, full)).toMatchObject({ failToSuccess: 1, successToFail: 3, gain: -2 / 8 });

    const rows = [anchor, full, other];
    addPairedTests(rows);
    expect(anchor.paired?.map((x) => x.against)).toEqual([FULL_ROW]);
    expect(full.paired?.map((x) => x.against)).toEqual([ANCHOR_ROW]);
    expect(other.paired?.map((x) => x.against)).toEqual([ANCHOR_ROW, FULL_ROW]);
    // (1, 3): 2 · P(X ≤ 1 | n = 4) = 2 · 5/16 = 0.625.
    expect(formatAblation({ episodesPerTask: 4, seedOffset: 1_000_000, variants: rows })).toMatch(
      /w\/o gripper refinement .*\+12\.5 \(2\/1, p 1\.0\) +-25\.0 \(1\/3, p 0\.63\)/,
    );

    const bare: AblationRow = { name: 'old record', tasks: [], average: 0 };
    expect(() => pairAgainst(bare, anchor)).toThrow(
      /'old record' or 'anchor-only \(phase 1\)' has no outcomes/,
    );
  });
});
