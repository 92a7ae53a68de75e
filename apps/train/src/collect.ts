/** `collect`: scripted-expert demos from the sim into a LeRobot v3.0 dataset (successful episodes only). */
import { existsSync } from 'node:fs';
import { selectBackend } from '@anchor-refine/core-tensors';
import { loadPolicy } from '@anchor-refine/policy';
import { type RecordSummary, recordExpertDataset, TASK_IDS, type TaskId } from '@anchor-refine/sim';
import { requirePolicyCheckpoint } from './run-layout.js';
import { wrapPolicy } from './sim-policy.js';

export interface CollectOptions {
  root: string;
  tasks?: TaskId[];
  episodesPerTask: number;
  /** Rendered image size (square); the policy preset's size avoids resizing at train time. */
  imageSize?: number;
  /** Per-episode aim error of the expert (m): data diversity. */
  aimNoise?: number;
  /** Per-step joint jitter of the expert (rad). */
  actionNoise?: number;
  /** DART disturbance of the executed arm joints (rad; the recorded action stays the expert's). */
  executionNoise?: number;
  /** Disturb only the first this-many steps of each demo (default: all). */
  executionNoiseSteps?: number;
  seedOffset?: number;
  /**
   * Recovery demos: this policy checkpoint drives each episode's first 1..`steps` steps (its anchor-only
   * mode, the states phase 2 must correct), then the expert takes over and only its part is recorded.
   */
  lead?: { checkpoint: string; steps: number };
  log?: (msg: string) => void;
}

export function parseTasks(list: string | undefined): TaskId[] {
  if (!list || list === 'all') return [...TASK_IDS];
  const tasks = list.split(',').map((t) => t.trim());
  for (const t of tasks)
    if (!TASK_IDS.includes(t as TaskId))
      throw new Error(`unknown task '${t}'; use a comma-separated subset of ${TASK_IDS.join(', ')} or 'all'`);
  return tasks as TaskId[];
}

export async function collect(o: CollectOptions): Promise<RecordSummary> {
  if (existsSync(`${o.root}/meta/info.json`))
    throw new Error(`collect: ${o.root} already holds a dataset; remove it or choose another --out`);
  const size = o.imageSize ?? 96;
  const t0 = performance.now();
  const leader = o.lead ? await loadLeader(o.lead.checkpoint) : undefined;
  const summary = await recordExpertDataset({
    root: o.root,
    tasks: o.tasks ?? [...TASK_IDS],
    episodesPerTask: o.episodesPerTask,
    seedOffset: o.seedOffset ?? 0,
    expert: {
      aimNoise: o.aimNoise ?? 0.003,
      actionNoise: o.actionNoise ?? 0.01,
      executionNoise: o.executionNoise ?? 0,
      ...(o.executionNoiseSteps !== undefined ? { executionNoiseSteps: o.executionNoiseSteps } : {}),
    },
    env: { imageWidth: size, imageHeight: size },
    ...(leader && o.lead
      ? { lead: { policy: () => wrapPolicy(leader, 'anchor'), maxSteps: o.lead.steps } }
      : {}),
    onEpisode: ({ task, kept, total, success }) => {
      if (success && (kept === total || kept % 10 === 0)) o.log?.(`collect: ${task} ${kept}/${total}`);
    },
  }).finally(() => leader?.dispose());
  o.log?.(
    `collect: ${summary.episodes} episodes, ${summary.frames} frames (${summary.discarded} failed demos discarded) in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${o.root}`,
  );
  return summary;
}

/** The leading policy of recovery demos (`lead`), loaded once for every task. */
async function loadLeader(checkpoint: string) {
  requirePolicyCheckpoint(checkpoint, 'collect --lead');
  await selectBackend('native');
  return loadPolicy(checkpoint);
}
