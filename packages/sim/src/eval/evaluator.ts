import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EnvOptionsInput } from '../env/options.js';
import { TASK_IDS, type TaskId } from '../env/types.js';
import type { EpisodeRecord } from './episode.js';
import { FAILURE_CLASSES, type FailureClass } from './failure.js';
import type { PolicyFactorySpec } from './policy.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';
import { wilsonInterval } from './stats.js';

export interface EvaluateConfig {
  policy: PolicyFactorySpec;
  tasks: TaskId[];
  /** Episodes (seeds) per task. */
  episodes: number;
  /** First seed; evaluation seeds default to 1,000,000+ so they never overlap training demos (0..). */
  seedOffset?: number;
  /** Worker threads (default: min(2, cores)); each holds its own WASM instance (≈170 MB). */
  workers?: number;
  env?: EnvOptionsInput;
  /** Per-episode JSON lines are appended here (the file is truncated first). */
  logPath?: string;
  /** Episodes whose frames are written as PNGs under framesDir/<task>/<seed>/. */
  frames?: { dir: string; episodes: { task: TaskId; seed: number }[] };
  onEpisode?: (record: EpisodeRecord, done: number, total: number) => void;
  /**
   * Runs only the (task, seed) jobs this returns true for; `index` counts jobs task-major over the full
   * tasks × episodes grid (a shard of a distributed evaluation keeps index % n === i).
   */
  select?: (job: { task: TaskId; seed: number; index: number }) => boolean;
}

export interface TaskReport {
  task: TaskId;
  episodes: number;
  successes: number;
  successRate: number;
  /** 95 % Wilson score interval of the success rate. */
  interval: [number, number];
  failures: Record<FailureClass, number>;
  meanSteps: number;
}

export interface EvaluationReport {
  tasks: TaskReport[];
  episodes: EpisodeRecord[];
  wallMs: number;
}

export const DEFAULT_EVAL_SEED_OFFSET = 1_000_000;

function validate(c: EvaluateConfig): void {
  if (!c.policy || typeof c.policy.module !== 'string' || c.policy.module.length === 0)
    throw new Error('evaluate: policy.module must be a non-empty string');
  if (typeof c.policy.exportName !== 'string' || c.policy.exportName.length === 0)
    throw new Error('evaluate: policy.exportName must be a non-empty string');
  if (!Array.isArray(c.tasks) || c.tasks.length === 0)
    throw new Error('evaluate: tasks must be a non-empty list');
  for (const t of c.tasks)
    if (!TASK_IDS.includes(t))
      throw new Error(`evaluate: unknown task id "${t}" (expected ${TASK_IDS.join(', ')})`);
  if (!Number.isInteger(c.episodes) || c.episodes < 1)
    throw new Error(`evaluate: episodes must be a positive integer, got ${c.episodes}`);
  if (c.workers !== undefined && (!Number.isInteger(c.workers) || c.workers < 1 || c.workers > 64))
    throw new Error(`evaluate: workers must be an integer in [1, 64], got ${c.workers}`);
}

/**
 * How a worker thread loads this package: from TypeScript sources in dev and tests (through a small JS
 * bootstrap that registers tsx in the worker, with the source export condition), or the built JS.
 */
function workerEntry(): { url: URL; execArgv: string[]; entry?: string } {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource
    ? {
        url: new URL('./worker-bootstrap.mjs', import.meta.url),
        execArgv: ['--conditions=@anchor-refine/source'],
        entry: new URL('./worker.ts', import.meta.url).href,
      }
    : { url: new URL('./worker.js', import.meta.url), execArgv: [] };
}

export function summarize(records: EpisodeRecord[], tasks: TaskId[]): TaskReport[] {
  return tasks.map((task) => {
    const rs = records.filter((r) => r.task === task);
    const successes = rs.filter((r) => r.success).length;
    const failures = Object.fromEntries(FAILURE_CLASSES.map((f) => [f, 0])) as Record<FailureClass, number>;
    for (const r of rs) if (r.failure) failures[r.failure] += 1;
    return {
      task,
      episodes: rs.length,
      successes,
      successRate: rs.length ? successes / rs.length : 0,
      interval: wilsonInterval(successes, rs.length),
      failures,
      meanSteps: rs.length ? rs.reduce((s, r) => s + r.steps, 0) / rs.length : 0,
    };
  });
}

/**
 * Runs a policy closed-loop over `episodes` seeds per task in worker threads (dynamic scheduling:
 * each worker takes the next episode when it finishes one) and reports success with Wilson intervals
 * and failure classes.
 */
export async function evaluate(config: EvaluateConfig): Promise<EvaluationReport> {
  validate(config);
  const t0 = performance.now();
  const offset = config.seedOffset ?? DEFAULT_EVAL_SEED_OFFSET;
  const framesFor = new Set((config.frames?.episodes ?? []).map((e) => `${e.task}:${e.seed}`));
  const jobs: Extract<WorkerRequest, { type: 'run' }>[] = [];
  let index = 0;
  for (const task of config.tasks)
    for (let i = 0; i < config.episodes; i++) {
      const seed = offset + i;
      if (config.select && !config.select({ task, seed, index: index++ })) continue;
      const job: Extract<WorkerRequest, { type: 'run' }> = { type: 'run', task, seed };
      if (config.frames && framesFor.has(`${task}:${seed}`)) job.framesDir = config.frames.dir;
      jobs.push(job);
    }
  if (config.logPath) {
    mkdirSync(dirname(config.logPath), { recursive: true });
    writeFileSync(config.logPath, '');
  }
  if (jobs.length === 0) return { tasks: summarize([], config.tasks), episodes: [], wallMs: 0 };
  const nWorkers = Math.min(config.workers ?? Math.min(2, availableParallelism()), jobs.length);
  const { url, execArgv, entry } = workerEntry();
  const records: EpisodeRecord[] = [];
  let next = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      for (let w = 0; w < nWorkers; w++) {
        const init: WorkerInit = { workerIndex: w, env: config.env ?? {}, policy: config.policy };
        const worker = new Worker(url, { workerData: { ...init, entry }, execArgv });
        workers.push(worker);
        const feed = () => {
          if (next < jobs.length) worker.postMessage(jobs[next++]);
        };
        worker.on('message', (msg: WorkerReply) => {
          if (msg.type === 'ready') return feed();
          if (msg.type === 'error')
            return fail(
              new Error(`evaluation of ${msg.task} seed ${msg.seed} failed in worker ${w}: ${msg.error}`),
            );
          records.push(msg.record);
          finished += 1;
          if (config.logPath) appendFileSync(config.logPath, `${JSON.stringify(msg.record)}\n`);
          config.onEpisode?.(msg.record, finished, jobs.length);
          if (finished === jobs.length) resolve();
          else feed();
        });
        worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
        worker.on('exit', (code) => {
          if (finished < jobs.length) fail(new Error(`evaluation worker ${w} exited early (code ${code})`));
        });
      }
    });
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((res) => {
            w.once('exit', () => res());
            w.postMessage({ type: 'close' } satisfies WorkerRequest);
            setTimeout(() => void w.terminate(), 2000).unref();
          }),
      ),
    );
  }
  records.sort((a, b) => (a.task === b.task ? a.seed - b.seed : a.task.localeCompare(b.task)));
  return { tasks: summarize(records, config.tasks), episodes: records, wallMs: performance.now() - t0 };
}
