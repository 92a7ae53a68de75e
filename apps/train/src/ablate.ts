/**
 * `ablate`: the spec's ablation table on the same data and evaluation seeds. Phase 1 is trained once
 * and shared by every variant that keeps the anchor (the paper's variants differ in phase 2); the
 * "deeper anchor" variant trains its own phase 1 (the refiner's layers added to the anchor, no refinement). Every variant is
 * evaluated closed-loop; the anchor-only baseline is the shared phase-1 model.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AnyPolicyConfig, isXvlaConfig } from '@anchor-refine/policy';
import type { TaskId } from '@anchor-refine/sim';
import { type PolicySection, type TrainConfig, validateTrainConfig } from './config.js';
import { evalClosedLoop, pairedTest } from './eval-closed-loop.js';
import {
  type AblationResult,
  type AblationRow,
  ANCHOR_ROW,
  FULL_ROW,
  type PairedAgainst,
  RUN_FILES,
  requirePolicyCheckpoint,
} from './run-layout.js';
import { buildPolicyConfig, trainPhase } from './train.js';

export interface Variant {
  name: string;
  /** Policy overrides on top of the run's (fields of the run's backbone config). */
  overrides: PolicySection['overrides'];
  /** Trains its own phase 1 and no phase 2. */
  anchorOnly?: boolean;
}

/**
 * The spec's variants that exist for the run's backbone. On X-VLA the anchor is always detached (the
 * frozen denoiser's output) and the refiner never reads it, so the detach / concat / direct rows have
 * no counterpart; the deeper anchor is a deeper denoiser.
 */
export function ablationVariants(base: AnyPolicyConfig): Variant[] {
  if (isXvlaConfig(base)) {
    return [
      { name: FULL_ROW, overrides: {} },
      { name: 'w/o gripper refinement', overrides: { refine: { gripper: 'none' } } },
      { name: 'naive gripper MSE', overrides: { refine: { gripper: 'naive-mse' } } },
      {
        name: 'phase 1 only, deeper anchor',
        overrides: {
          backbone: { config: { depth: Math.round(base.backbone.config.depth * 1.5) } },
          refine: { enabled: false },
        },
        anchorOnly: true,
      },
    ];
  }
  return [
    { name: FULL_ROW, overrides: {} },
    { name: 'w/o gripper refinement', overrides: { refine: { gripper: 'none' } } },
    { name: 'naive gripper MSE', overrides: { refine: { gripper: 'naive-mse' } } },
    { name: 'w/o detached anchor', overrides: { refine: { detachAnchor: false } } },
    { name: 'explicit anchor concatenation', overrides: { refine: { input: 'explicit-anchor-concat' } } },
    {
      // Capacity-matched: the anchor gains the refiner's trunk layers (same width), so it adds about the
      // refiner's parameter count (small: 4 → 5 layers, +198k against the refiner's 234k with its queries
      // and head). The paper's 12 → 18 adds 1.5× its refiner's layers; × 1.5 here would add 1.7× it.
      name: 'phase 1 only, deeper anchor',
      overrides: { anchor: { depth: base.anchor.depth + base.refine.depth }, refine: { enabled: false } },
      anchorOnly: true,
    },
    { name: 'refine (direct action)', overrides: { refine: { target: 'direct' } } },
  ];
}

type Overrides = PolicySection['overrides'];
const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Deep merge of two override objects (b wins). */
function mergeOverrides(a: Overrides, b: Overrides): Overrides {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const av = (a as Record<string, unknown>)[k];
    out[k] = isPlain(av) && isPlain(v) ? mergeOverrides(av as Overrides, v as Overrides) : v;
  }
  return out as Overrides;
}

export interface AblateOptions {
  episodes: number;
  tasks?: TaskId[];
  seedOffset?: number;
  only?: string[];
  /**
   * Phase-1 checkpoint shared by the variants that keep the anchor (e.g. the demo's `anchor/final`),
   * instead of training one under `<outDir>/ablation/shared`. It must come from the same config.
   */
  anchor?: string;
  progress?: boolean;
  log?: (m: string) => void;
}

export async function ablate(cfg: TrainConfig, o: AblateOptions): Promise<AblationResult> {
  const log = o.log ?? console.log;
  const base = buildPolicyConfig(cfg);
  const root = join(cfg.outDir, 'ablation');
  const shared = validateTrainConfig({ ...cfg, outDir: join(root, 'shared') });
  const sharedAnchor = o.anchor ?? join(shared.outDir, 'anchor', 'final');
  if (o.anchor) requirePolicyCheckpoint(o.anchor, 'ablate --anchor');
  if (!existsSync(sharedAnchor)) await trainPhase(shared, 'anchor', { progress: o.progress, log });
  const seedOffset = o.seedOffset ?? 1_000_000;
  const rows: AblationRow[] = [];
  const evalRow = async (name: string, checkpoint: string, mode: 'anchor' | 'refine') => {
    const r = await evalClosedLoop({
      checkpoint,
      modes: [mode],
      tasks: o.tasks,
      episodes: o.episodes,
      seedOffset,
    });
    const tasks = r.results[mode]?.tasks ?? [];
    const row: AblationRow = {
      name,
      tasks,
      average: tasks.reduce((s, t) => s + t.successRate, 0) / Math.max(1, tasks.length),
      outcomes: (r.results[mode]?.episodes ?? []).map((e) => ({
        task: e.task,
        seed: e.seed,
        success: e.success,
      })),
    };
    log(`ablate: ${name}: average ${(100 * row.average).toFixed(1)}%`);
    rows.push(row);
  };
  await evalRow(ANCHOR_ROW, sharedAnchor, 'anchor');
  for (const v of ablationVariants(base)) {
    if (o.only && !o.only.includes(v.name)) continue;
    const slug = v.name
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase();
    const vc = validateTrainConfig({
      ...cfg,
      outDir: join(root, slug),
      policy: { ...cfg.policy, overrides: mergeOverrides(cfg.policy.overrides, v.overrides) },
    });
    const finalDir = join(vc.outDir, v.anchorOnly ? 'anchor' : 'refine', 'final');
    if (!existsSync(finalDir)) {
      if (v.anchorOnly) await trainPhase(vc, 'anchor', { progress: o.progress, log });
      else await trainPhase(vc, 'refine', { init: sharedAnchor, progress: o.progress, log });
    }
    await evalRow(v.name, finalDir, v.anchorOnly ? 'anchor' : 'refine');
  }
  addPairedTests(rows);
  const result: AblationResult = { episodesPerTask: o.episodes, seedOffset, variants: rows };
  await writeFile(join(cfg.outDir, RUN_FILES.ablation), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/**
 * `row` against `ref` on the seeds both ran: F→S counts episodes `ref` failed and `row` solved. The
 * gain is over those paired episodes, so it equals the difference of the rows' averages when every task
 * ran the same number of seeds.
 */
export function pairAgainst(row: AblationRow, ref: AblationRow): PairedAgainst {
  if (!row.outcomes || !ref.outcomes)
    throw new Error(`ablate: row '${row.name}' or '${ref.name}' has no outcomes`);
  const tasks = [...new Set(ref.outcomes.map((e) => e.task))];
  const { failToSuccess, successToFail, pValue, pairs } = pairedTest(ref.outcomes, row.outcomes, tasks);
  return {
    against: ref.name,
    failToSuccess,
    successToFail,
    pValue,
    gain: pairs ? (failToSuccess - successToFail) / pairs : 0,
  };
}

/** Each row paired against the anchor-only row and the full AnchorRefine row (a row is not paired with itself). */
export function addPairedTests(rows: AblationRow[]): void {
  const refs = [ANCHOR_ROW, FULL_ROW]
    .map((n) => rows.find((r) => r.name === n))
    .filter((r): r is AblationRow => r?.outcomes !== undefined);
  for (const row of rows) {
    if (!row.outcomes) continue;
    const paired = refs.filter((ref) => ref !== row).map((ref) => pairAgainst(row, ref));
    if (paired.length) row.paired = paired;
  }
}

const fmtPaired = (p: PairedAgainst | undefined) =>
  p
    ? `${p.gain >= 0 ? '+' : ''}${(100 * p.gain).toFixed(1)} (${p.failToSuccess}/${p.successToFail}, p ${p.pValue.toPrecision(2)})`
    : '—';

export function formatAblation(r: AblationResult): string {
  const w = Math.max(...r.variants.map((v) => v.name.length));
  const tasks = r.variants[0]?.tasks.map((t) => t.task) ?? [];
  const vs = (v: AblationRow, n: string) => fmtPaired(v.paired?.find((p) => p.against === n));
  const head = `${'variant'.padEnd(w)}  avg SR  ${tasks.map((t) => t.padEnd(12)).join(' ')} vs anchor-only (F→S/S→F, p)   vs full`;
  const lines = r.variants.map(
    (v) =>
      `${v.name.padEnd(w)}  ${`${(100 * v.average).toFixed(1)}%`.padEnd(6)}  ${v.tasks.map((t) => `${(100 * t.successRate).toFixed(0)}%`.padEnd(12)).join(' ')} ${vs(v, ANCHOR_ROW).padEnd(29)} ${vs(v, FULL_ROW)}`,
  );
  return [head, ...lines].join('\n');
}
