/**
 * Sharded closed-loop evaluation: `eval --shard i/n` runs every n-th (task, seed) episode starting at i
 * (round-robin over the task-major grid, so each shard gets every task) and writes its part;
 * `eval --merge` combines the parts into the closed-loop.json a single run writes (records sorted as
 * the evaluator sorts them, the same per-task summaries and transitions; wallMs is the slowest part).
 * Without --shard, a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with JOB_COMPLETIONS selects the shard.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EpisodeRecord, summarize, type TaskId } from '@anchor-refine/sim';
import {
  type ClosedLoopOptions,
  type ClosedLoopResult,
  evalClosedLoop,
  pairedSummary,
  transitions,
} from './eval-closed-loop.js';
import type { DelayedEvalOptions, EvalMode } from './sim-policy.js';

export interface Shard {
  index: number;
  count: number;
}

/** `i/n` → {index: i, count: n}; an error names the flag and what is wrong. */
export function parseShard(text: string, what = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${what}: expected i/n (e.g. 0/4), got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new Error(`${what}: n must be ≥ 1, got ${count}`);
  if (index >= count) throw new Error(`${what}: i must be < n, got ${index}/${count}`);
  return { index, count };
}

/** The shard from --shard, else from a Kubernetes Indexed Job's environment, else none. */
export function resolveShard(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Shard | undefined {
  if (flag !== undefined) return parseShard(flag);
  const idx = env.JOB_COMPLETION_INDEX;
  if (idx === undefined || idx === '') return undefined;
  const n = env.JOB_COMPLETIONS;
  if (n === undefined || n === '')
    throw new Error(
      "eval: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not; set it to the Job's .spec.completions (see docs/k8s-eval-job.yaml)",
    );
  return parseShard(`${idx}/${n}`, 'JOB_COMPLETION_INDEX/JOB_COMPLETIONS');
}

export interface ShardPart {
  kind: 'anchor-refine/closed-loop-part';
  shard: Shard;
  checkpoint: string;
  seedOffset: number;
  episodesPerTask: number;
  tasks: TaskId[];
  modes: EvalMode[];
  actionsPerChunk?: number;
  delayed?: DelayedEvalOptions;
  episodes: Partial<Record<EvalMode, EpisodeRecord[]>>;
  wallMs: Partial<Record<EvalMode, number>>;
}

export const partName = (s: Shard) => `part-${s.index}-of-${s.count}.json`;

/** Runs this shard's episodes and writes `<partsDir>/part-i-of-n.json`; returns the part. */
export async function evalShard(
  o: ClosedLoopOptions & { tasks: TaskId[]; modes: EvalMode[] },
  shard: Shard,
  partsDir: string,
): Promise<ShardPart> {
  const r = await evalClosedLoop({
    ...o,
    logDir: undefined, // the merge writes the per-episode logs of the whole evaluation
    select: ({ index }) => index % shard.count === shard.index,
  });
  const part: ShardPart = {
    kind: 'anchor-refine/closed-loop-part',
    shard,
    checkpoint: r.checkpoint,
    seedOffset: r.seedOffset,
    episodesPerTask: r.episodesPerTask,
    tasks: o.tasks,
    modes: o.modes,
    ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
    ...(o.delayed ? { delayed: o.delayed } : {}),
    episodes: Object.fromEntries(o.modes.map((m) => [m, r.results[m]?.episodes ?? []])),
    wallMs: Object.fromEntries(o.modes.map((m) => [m, r.results[m]?.wallMs ?? 0])),
  };
  mkdirSync(partsDir, { recursive: true });
  writeFileSync(join(partsDir, partName(shard)), `${JSON.stringify(part)}\n`);
  return part;
}

const sameRun = (a: ShardPart, b: ShardPart) =>
  a.checkpoint === b.checkpoint &&
  a.seedOffset === b.seedOffset &&
  a.episodesPerTask === b.episodesPerTask &&
  a.actionsPerChunk === b.actionsPerChunk &&
  JSON.stringify(a.delayed ?? null) === JSON.stringify(b.delayed ?? null) &&
  a.tasks.join() === b.tasks.join() &&
  a.modes.join() === b.modes.join();

/**
 * Reads every part in `partsDir` and builds the single-run result. Errors name the missing, duplicate
 * or mismatched part; per-episode logs go to `logDir` when given (as a single run writes them).
 */
export function mergeShards(partsDir: string, logDir?: string): ClosedLoopResult {
  if (!existsSync(partsDir)) throw new Error(`eval --merge: no parts folder ${partsDir}`);
  const files = readdirSync(partsDir).filter((f) => /^part-\d+-of-\d+\.json$/.test(f));
  if (files.length === 0) throw new Error(`eval --merge: no part-i-of-n.json files in ${partsDir}`);
  const parts = files.map((f) => {
    const p = JSON.parse(readFileSync(join(partsDir, f), 'utf8')) as ShardPart;
    if (p.kind !== 'anchor-refine/closed-loop-part')
      throw new Error(`eval --merge: ${f} is not a closed-loop part`);
    return p;
  });
  const first = parts[0];
  const n = first.shard.count;
  const seen = new Set<number>();
  for (const [i, p] of parts.entries()) {
    if (p.shard.count !== n)
      throw new Error(`eval --merge: ${files[i]} is a shard of ${p.shard.count}, others of ${n}`);
    if (!sameRun(p, first))
      throw new Error(
        `eval --merge: ${files[i]} evaluated another checkpoint, seed range, tasks or modes than ${files[0]}`,
      );
    seen.add(p.shard.index);
  }
  const missing = [...Array(n).keys()].filter((i) => !seen.has(i));
  if (missing.length > 0)
    throw new Error(
      `eval --merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing in ${partsDir}`,
    );
  const out: ClosedLoopResult = {
    checkpoint: first.checkpoint,
    seedOffset: first.seedOffset,
    episodesPerTask: first.episodesPerTask,
    ...(first.delayed ? { delayed: first.delayed } : {}),
    results: {},
  };
  for (const mode of first.modes) {
    const records = parts.flatMap((p) => p.episodes[mode] ?? []);
    const keys = new Set(records.map((r) => `${r.task}:${r.seed}`));
    const want = first.tasks.length * first.episodesPerTask;
    if (keys.size !== records.length || records.length !== want)
      throw new Error(
        `eval --merge: mode ${mode} has ${records.length} episodes (${keys.size} distinct), expected ${want}`,
      );
    records.sort((a, b) => (a.task === b.task ? a.seed - b.seed : a.task.localeCompare(b.task)));
    out.results[mode] = {
      mode,
      tasks: summarize(records, first.tasks),
      episodes: records,
      wallMs: Math.max(...parts.map((p) => p.wallMs[mode] ?? 0)),
    };
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      writeFileSync(
        join(logDir, `episodes-${mode}.jsonl`),
        records.map((r) => `${JSON.stringify(r)}\n`).join(''),
      );
    }
  }
  const a = out.results.anchor;
  const r = out.results.refine;
  if (a && r) {
    out.transitions = transitions(a.episodes, r.episodes, first.tasks);
    out.paired = pairedSummary(a.episodes, r.episodes, first.tasks);
  }
  return out;
}
