import { DatasetWriter } from '@anchor-refine/datasets';
import { Env } from '../env/env.js';
import type { EnvOptionsInput } from '../env/options.js';
import { TASK_IDS, type TaskId } from '../env/types.js';
import type { ClosedLoopPolicy } from '../eval/policy.js';
import { type ExpertOptions, type ExpertResult, runExpert, takeOverWithExpert } from '../expert/run.js';
import { Rng } from '../math/rng.js';
import { STATE_NAMES } from '../scene/arm.js';

export interface RecordConfig {
  /** Dataset root (must not exist or be empty; the writer decides). */
  root: string;
  tasks: TaskId[];
  episodesPerTask: number;
  /** First seed (demos default to 0..; evaluation defaults to 1,000,000.. so they never overlap). */
  seedOffset?: number;
  expert?: Partial<
    Pick<ExpertOptions, 'aimNoise' | 'actionNoise' | 'executionNoise' | 'executionNoiseSteps'>
  >;
  /** Env options; the action space is forced to `joint` (the dataset's `action` is 6 joint targets). */
  env?: EnvOptionsInput;
  /** Keep only successful demos (default true); failed attempts are discarded and the next seed is tried. */
  onlySuccessful?: boolean;
  /** Give up on a task after this many failed seeds in a row (default 20). */
  maxConsecutiveFailures?: number;
  onEpisode?: (info: { task: TaskId; seed: number; success: boolean; kept: number; total: number }) => void;
  /**
   * Recovery demos (DAgger-style expert takeover): a policy drives each episode first, the expert takes
   * over from wherever it left the arm, and only the expert's part is recorded. Absent = plain demos.
   */
  lead?: RecordLead;
}

/**
 * The leading policy of a recovery demo. It runs k steps, k drawn per seed uniformly from
 * 1..`maxSteps`, and hands over earlier when it would close the gripper (action[last] ≥ 0.5: the
 * expert's plan aims at the object where it lies, so the takeover must come before a grasp moves it).
 * The closing action is not executed.
 */
export interface RecordLead {
  /** Built once per task (its `reset()` runs at every episode start). */
  policy: (task: TaskId) => ClosedLoopPolicy | Promise<ClosedLoopPolicy>;
  maxSteps: number;
}

/** Steps the leading policy drives episode `seed` of `task` before the expert takes over (1..maxSteps). */
export function leadSteps(task: TaskId, seed: number, maxSteps: number): number {
  return 1 + new Rng(`lead:${task}:${seed}`).int(maxSteps);
}

export interface RecordSummary {
  episodes: number;
  frames: number;
  discarded: number;
  perTask: Record<string, number>;
}

/** LeRobot feature schema of the recorded datasets (keys used by the training pipeline). */
export function simFeatures(height: number, width: number) {
  const image = {
    dtype: 'image' as const,
    shape: [height, width, 3],
    names: ['height', 'width', 'channels'],
  };
  return {
    'observation.images.front': image,
    'observation.images.wrist': { ...image },
    'observation.state': { dtype: 'float32' as const, shape: [6], names: [...STATE_NAMES] },
    'observation.ee_pose': {
      dtype: 'float32' as const,
      shape: [7],
      names: ['x', 'y', 'z', 'qw', 'qx', 'qy', 'qz'],
    },
    action: { dtype: 'float32' as const, shape: [6], names: [...STATE_NAMES] },
  };
}

/**
 * Records scripted-expert episodes into a LeRobot v3.0 dataset through @anchor-refine/datasets: one
 * frame per 10 Hz step (the observation the action was chosen on + that action), the task string as
 * the episode's task; the writer computes meta/stats.json at finalize().
 */
export async function recordExpertDataset(config: RecordConfig): Promise<RecordSummary> {
  if (!Array.isArray(config.tasks) || config.tasks.length === 0)
    throw new Error('record: tasks must be a non-empty list');
  for (const t of config.tasks)
    if (!TASK_IDS.includes(t))
      throw new Error(`record: unknown task id "${t}" (expected ${TASK_IDS.join(', ')})`);
  if (!Number.isInteger(config.episodesPerTask) || config.episodesPerTask < 1)
    throw new Error(`record: episodesPerTask must be a positive integer, got ${config.episodesPerTask}`);
  const lead = config.lead;
  if (lead && !(Number.isInteger(lead.maxSteps) && lead.maxSteps >= 1))
    throw new Error(`record: lead.maxSteps must be an integer ≥ 1, got ${lead.maxSteps}`);
  const envOptions: EnvOptionsInput = { ...(config.env ?? {}), actionSpace: 'joint', render: true };
  const onlySuccessful = config.onlySuccessful ?? true;
  const maxFails = config.maxConsecutiveFailures ?? 20;
  const first = await Env.create(config.tasks[0], envOptions);
  const { imageHeight: H, imageWidth: W, controlHz } = first.options;
  first.close();
  const writer = await DatasetWriter.create(config.root, {
    fps: controlHz,
    features: simFeatures(H, W),
    robotType: 'so101_sim',
    version: 'v3.0',
    imageStorage: 'parquet',
  });
  const summary: RecordSummary = { episodes: 0, frames: 0, discarded: 0, perTask: {} };
  let seed = config.seedOffset ?? 0;
  for (const task of config.tasks) {
    const env = await Env.create(task, envOptions);
    let kept = 0;
    let fails = 0;
    try {
      const leader = lead ? await lead.policy(task) : undefined;
      while (kept < config.episodesPerTask) {
        let frames = 0;
        const expert: Partial<ExpertOptions> = {
          aimNoise: config.expert?.aimNoise ?? 0,
          actionNoise: config.expert?.actionNoise ?? 0,
          executionNoise: config.expert?.executionNoise ?? 0,
          ...(config.expert?.executionNoiseSteps !== undefined
            ? { executionNoiseSteps: config.expert.executionNoiseSteps }
            : {}),
          onStep: (obs, action) => {
            writer.addFrame(
              {
                'observation.images.front': obs.images.front.data,
                'observation.images.wrist': obs.images.wrist.data,
                'observation.state': obs.jointState,
                'observation.ee_pose': obs.eePose,
                action,
              },
              obs.task,
            );
            frames++;
          },
        };
        const r =
          leader && lead
            ? await ledEpisode(env, seed, leader, leadSteps(task, seed, lead.maxSteps), expert)
            : runExpert(env, seed, expert);
        if (r.success || !onlySuccessful) {
          await writer.saveEpisode();
          kept++;
          fails = 0;
          summary.episodes++;
          summary.frames += frames;
        } else {
          writer.clearEpisode();
          summary.discarded++;
          fails++;
          if (fails >= maxFails)
            throw new Error(`record: ${task} failed ${fails} seeds in a row (last seed ${seed})`);
        }
        config.onEpisode?.({ task, seed, success: r.success, kept, total: config.episodesPerTask });
        seed++;
      }
    } finally {
      env.close();
    }
    summary.perTask[task] = kept;
  }
  await writer.finalize();
  return summary;
}

/**
 * One recovery episode: `leader` drives up to `steps` steps from `reset(seed)` (unrecorded), then the
 * expert takes over (recorded through `expert.onStep`). An episode the leader ends (success or time-out)
 * counts as the expert's failure: nothing of it was the expert's.
 */
async function ledEpisode(
  env: Env,
  seed: number,
  leader: ClosedLoopPolicy,
  steps: number,
  expert: Partial<ExpertOptions>,
): Promise<ExpertResult> {
  let obs = env.reset(seed);
  await leader.reset();
  for (let k = 0; k < steps; k++) {
    const action = await leader.act(obs);
    if (action[action.length - 1] >= 0.5) break;
    const r = env.step(action);
    if (r.done) return { success: false, steps: r.step };
    obs = r.observation;
  }
  return takeOverWithExpert(env, obs, expert);
}
