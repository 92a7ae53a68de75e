import type { Env } from '../env/env.js';
import type { EpisodeSummary } from '../env/monitor.js';
import type { Image, Observation, TaskId } from '../env/types.js';
import { classifyFailure, type FailureClass } from './failure.js';
import type { ClosedLoopPolicy } from './policy.js';

/** One line of the per-episode JSON log. */
export interface EpisodeRecord {
  task: TaskId;
  seed: number;
  success: boolean;
  steps: number;
  failure: FailureClass | null;
  summary: EpisodeSummary;
  wallMs: number;
  /** PNG files written for this episode (when frames were requested). */
  frames?: string[];
}

/** Called with each step's camera images (step 0 = after reset) and the whole observation. */
export type FrameSink = (
  step: number,
  front: Image,
  wrist: Image,
  observation: Observation,
) => string | undefined;

/** Runs one closed-loop episode of `policy` in `env` from `seed`. */
export async function runEpisode(
  env: Env,
  policy: ClosedLoopPolicy,
  seed: number,
  frames?: FrameSink,
): Promise<EpisodeRecord> {
  const t0 = performance.now();
  let obs = env.reset(seed);
  await policy.reset();
  const written: string[] = [];
  const save = (step: number) => {
    const f = frames?.(step, obs.images.front, obs.images.wrist, obs);
    if (f) written.push(f);
  };
  save(0);
  let success = false;
  let steps = 0;
  for (;;) {
    const action = await policy.act(obs);
    const r = env.step(action);
    obs = r.observation;
    steps = r.step;
    save(steps);
    if (r.done) {
      success = r.success;
      break;
    }
  }
  const summary = env.episodeSummary();
  const rec: EpisodeRecord = {
    task: env.taskId,
    seed,
    success,
    steps,
    failure: classifyFailure(summary),
    summary,
    wallMs: performance.now() - t0,
  };
  if (written.length > 0) rec.frames = written;
  return rec;
}
