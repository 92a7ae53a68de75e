/**
 * `eval` in the sim: the same checkpoint run anchor-only and as AnchorRefine on the same held-out seeds
 * (evaluation seeds start at 1,000,000; demos use 0..), per task with 95 % Wilson intervals and failure
 * classes, plus the Fail→Success / Success→Fail transitions between the two modes.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadPolicyConfig, policyShape } from '@anchor-refine/policy';
import {
  DEFAULT_EVAL_SEED_OFFSET,
  type EpisodeRecord,
  type EvaluateConfig,
  evaluate,
  exactMcNemar,
  GRIPPER_FAILURES,
  TASK_IDS,
  type TaskId,
  type TaskReport,
} from '@anchor-refine/sim';
import { type DelayedEvalOptions, type EvalMode, simPolicySpec } from './sim-policy.js';

export interface ClosedLoopOptions {
  checkpoint: string;
  modes?: EvalMode[];
  tasks?: TaskId[];
  episodes: number;
  seedOffset?: number;
  workers?: number;
  /** Actions executed per chunk instead of the checkpoint's `execution.actionsPerChunk`. */
  actionsPerChunk?: number;
  /** Run the deployment schedule under an injected inference delay (`--schedule`, `--inject-delay`). */
  delayed?: DelayedEvalOptions;
  /** Per-episode JSONL logs go here (`episodes-<mode>.jsonl`). */
  logDir?: string;
  onEpisode?: (mode: EvalMode, done: number, total: number) => void;
  /** Only these (task, seed) episodes (a shard: eval-shard.ts). */
  select?: EvaluateConfig['select'];
}

export interface ModeResult {
  mode: EvalMode;
  tasks: TaskReport[];
  episodes: EpisodeRecord[];
  wallMs: number;
}

export interface Transitions {
  failToSuccess: number;
  successToFail: number;
  bothSuccess: number;
  bothFail: number;
}

export interface ClosedLoopResult {
  checkpoint: string;
  seedOffset: number;
  episodesPerTask: number;
  /** the schedule and injected delay the episodes ran under (absent: the checkpoint's own execution) */
  delayed?: DelayedEvalOptions;
  results: Partial<Record<EvalMode, ModeResult>>;
  /** per task, anchor-only → AnchorRefine (only when both modes ran) */
  transitions?: Record<string, Transitions>;
  /** all tasks pooled: the paired test and the gripper-related failures (only when both modes ran) */
  paired?: PairedSummary;
}

export interface PairedSummary {
  failToSuccess: number;
  successToFail: number;
  /** exact McNemar (two-sided sign test on the discordant episodes) */
  pValue: number;
  /** AnchorRefine − anchor-only success rate, pooled over tasks */
  gain: number;
  gripperFailures: { anchor: number; refine: number; relativeChange: number | null };
}

export function pairedSummary(
  anchor: EpisodeRecord[],
  refine: EpisodeRecord[],
  tasks: TaskId[],
): PairedSummary {
  const { failToSuccess, successToFail, pValue } = pairedTest(anchor, refine, tasks);
  const inTasks = (r: EpisodeRecord) => tasks.includes(r.task);
  const rate = (rs: EpisodeRecord[]) => {
    const xs = rs.filter(inTasks);
    return xs.length ? xs.filter((r) => r.success).length / xs.length : 0;
  };
  const grip = (rs: EpisodeRecord[]) =>
    rs.filter((r) => inTasks(r) && r.failure !== null && GRIPPER_FAILURES.includes(r.failure)).length;
  const ga = grip(anchor);
  const gr = grip(refine);
  return {
    failToSuccess,
    successToFail,
    pValue,
    gain: rate(refine) - rate(anchor),
    gripperFailures: { anchor: ga, refine: gr, relativeChange: ga > 0 ? (gr - ga) / ga : null },
  };
}

/** The fields of an episode that pairing reads (an `EpisodeRecord`, or an ablation row's outcome). */
type Paired = Pick<EpisodeRecord, 'task' | 'seed' | 'success'>;

/**
 * `before` → `after` on the seeds both ran, all tasks pooled: the discordant episodes, the exact McNemar p
 * (two-sided sign test on them) and how many episodes were paired.
 */
export function pairedTest(
  before: Paired[],
  after: Paired[],
  tasks: TaskId[],
): { failToSuccess: number; successToFail: number; pValue: number; pairs: number } {
  const per = Object.values(transitions(before, after, tasks));
  const b = per.reduce((a, t) => a + t.failToSuccess, 0);
  const c = per.reduce((a, t) => a + t.successToFail, 0);
  const pairs = per.reduce((a, t) => a + t.failToSuccess + t.successToFail + t.bothSuccess + t.bothFail, 0);
  return { failToSuccess: b, successToFail: c, pValue: exactMcNemar(b, c), pairs };
}

export function transitions(
  anchor: Paired[],
  refine: Paired[],
  tasks: TaskId[],
): Record<string, Transitions> {
  const out: Record<string, Transitions> = {};
  for (const task of tasks) {
    const t: Transitions = { failToSuccess: 0, successToFail: 0, bothSuccess: 0, bothFail: 0 };
    const a = new Map(anchor.filter((r) => r.task === task).map((r) => [r.seed, r.success]));
    for (const r of refine.filter((x) => x.task === task)) {
      const before = a.get(r.seed);
      if (before === undefined) continue;
      if (!before && r.success) t.failToSuccess++;
      else if (before && !r.success) t.successToFail++;
      else if (before) t.bothSuccess++;
      else t.bothFail++;
    }
    out[task] = t;
  }
  return out;
}

export async function evalClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const modes = o.modes ?? ['anchor', 'refine'];
  const tasks = o.tasks ?? [...TASK_IDS];
  const size = policyShape(await loadPolicyConfig(o.checkpoint)).imageSize;
  const seedOffset = o.seedOffset ?? DEFAULT_EVAL_SEED_OFFSET;
  const out: ClosedLoopResult = {
    checkpoint: o.checkpoint,
    seedOffset,
    episodesPerTask: o.episodes,
    ...(o.delayed ? { delayed: o.delayed } : {}),
    results: {},
  };
  // The modes run side by side, splitting the workers: worker start-up (tsx, tfjs, WASM) overlaps.
  const total = o.workers ?? Math.min(2, availableParallelism());
  const perMode = Math.max(1, Math.floor(total / modes.length));
  const reports = await Promise.all(
    modes.map((mode) =>
      evaluate({
        policy: simPolicySpec(o.checkpoint, mode, o.actionsPerChunk, o.delayed),
        tasks,
        episodes: o.episodes,
        seedOffset,
        workers: perMode,
        env: { imageWidth: size, imageHeight: size },
        logPath: o.logDir ? join(o.logDir, `episodes-${mode}.jsonl`) : undefined,
        onEpisode: (_r, done, n) => o.onEpisode?.(mode, done, n),
        select: o.select,
      }),
    ),
  );
  modes.forEach((mode, i) => {
    const report = reports[i];
    out.results[mode] = { mode, tasks: report.tasks, episodes: report.episodes, wallMs: report.wallMs };
  });
  const a = out.results.anchor;
  const r = out.results.refine;
  if (a && r) {
    out.transitions = transitions(a.episodes, r.episodes, tasks);
    out.paired = pairedSummary(a.episodes, r.episodes, tasks);
  }
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The table printed by `eval` and `demo`. */
export function formatTable(res: ClosedLoopResult): string {
  const modes = (['anchor', 'refine'] as const).filter((m) => res.results[m]);
  const name = { anchor: 'anchor-only', refine: 'AnchorRefine' } as const;
  const tasks = res.results[modes[0]]?.tasks.map((t) => t.task) ?? [];
  const rows: string[][] = [
    ['task', ...modes.map((m) => `${name[m]} SR [95% CI]`), ...(res.transitions ? ['F→S', 'S→F'] : [])],
  ];
  for (const task of tasks) {
    const row: string[] = [task];
    for (const m of modes) {
      const t = res.results[m]?.tasks.find((x) => x.task === task);
      row.push(
        t
          ? `${t.successes}/${t.episodes} ${pct(t.successRate)} [${pct(t.interval[0])}, ${pct(t.interval[1])}]`
          : '—',
      );
    }
    if (res.transitions)
      row.push(String(res.transitions[task].failToSuccess), String(res.transitions[task].successToFail));
    rows.push(row);
  }
  const avg: string[] = ['average'];
  for (const m of modes) {
    const ts = res.results[m]?.tasks ?? [];
    const s = ts.reduce((a, t) => a + t.successes, 0);
    const n = ts.reduce((a, t) => a + t.episodes, 0);
    avg.push(`${s}/${n} ${pct(n ? s / n : 0)}`);
  }
  if (res.paired) avg.push(String(res.paired.failToSuccess), String(res.paired.successToFail));
  rows.push(avg);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const table = rows.map((r) => r.map((x, c) => (x ?? '').padEnd(widths[c])).join('  ')).join('\n');
  const d = res.delayed;
  const head = d
    ? `schedule ${d.schedule}, injected inference delay ${d.delayMs} ms${d.threshold !== undefined ? `, threshold ${d.threshold}` : ''}\n`
    : '';
  const p = res.paired;
  if (!p) return head + table;
  const g = p.gripperFailures;
  const change =
    g.relativeChange === null
      ? 'n/a'
      : `${g.relativeChange >= 0 ? '+' : ''}${(100 * g.relativeChange).toFixed(0)}%`;
  return `${head}${table}
gain ${(100 * p.gain).toFixed(1)} points; exact McNemar (F→S ${p.failToSuccess} vs S→F ${p.successToFail}) p = ${p.pValue.toPrecision(3)}
gripper-related failures: anchor-only ${g.anchor} → AnchorRefine ${g.refine} (${change})`;
}

/** `{"anchorOnly": {task: rate}, "anchorRefine": {task: rate}}` */
export function jsonSummary(res: ClosedLoopResult): {
  anchorOnly: Record<string, number>;
  anchorRefine: Record<string, number>;
} {
  const rates = (m: EvalMode) =>
    Object.fromEntries((res.results[m]?.tasks ?? []).map((t) => [t.task, t.successRate]));
  return { anchorOnly: rates('anchor'), anchorRefine: rates('refine') };
}
