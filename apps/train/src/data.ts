/**
 * The sim dataset as the policy sees it: sampler config (arm = joints 0..4, gripper = channel 5 as a
 * 0/1 label; the measured gripper state binarised at 0.2 because fingers closed on an object read ≈0.46),
 * normalization statistics for the policy checkpoint, and the raw-observation adapter used at inference.
 */
import { type LeRobotDataset, openDataset, Sampler, type SamplerConfig } from '@anchor-refine/datasets';
import {
  type AnyPolicyConfig,
  type PolicyObservation,
  type PolicyStats,
  policyShape,
} from '@anchor-refine/policy';
import type { Observation } from '@anchor-refine/sim';

export const ARM_DIM = 5;
export const GRIPPER_INDEX = 5;
/** Measured gripper opening above which the gripper counts as closed (0 open … 1 closed). */
export const GRIPPER_STATE_THRESHOLD = 0.2;
export const CAMERAS = { 'observation.images.front': 'front', 'observation.images.wrist': 'wrist' } as const;

export interface SamplerOptions {
  seed: number;
  batchSize: number;
  valFraction: number;
  oversampleStart?: { frames: number; factor: number };
  oversampleSwitches?: { before: number; after: number; factor: number };
  /** The sampler's `balanceTasks` (the phase's `balanceTasks`). */
  balanceTasks?: boolean;
  /** Yield each slot's frame this many steps later as well (the policy's `video.offset`, phase 1). */
  futureOffset?: number;
}

export function samplerConfig(policy: AnyPolicyConfig, opts: SamplerOptions): SamplerConfig {
  const shape = policyShape(policy);
  return {
    history: shape.history,
    horizon: shape.horizon,
    cameras: { ...CAMERAS },
    gripper: {
      stateIndex: GRIPPER_INDEX,
      actionIndex: GRIPPER_INDEX,
      convention: 'zero-one',
      stateConvention: 'zero-one',
      stateThreshold: GRIPPER_STATE_THRESHOLD,
    },
    normalization: { default: 'mean_std' },
    split: { valFraction: opts.valFraction },
    seed: opts.seed,
    batchSize: opts.batchSize,
    imageSize: [shape.imageSize, shape.imageSize],
    dropLast: true,
    ...(opts.oversampleStart ? { oversampleStart: opts.oversampleStart } : {}),
    ...(opts.oversampleSwitches ? { oversampleSwitches: opts.oversampleSwitches } : {}),
    ...(opts.balanceTasks ? { balanceTasks: true } : {}),
    ...(opts.futureOffset ? { futureOffset: opts.futureOffset } : {}),
  };
}

export async function openSampler(
  root: string,
  policy: AnyPolicyConfig,
  opts: SamplerOptions,
): Promise<Sampler> {
  const ds = await openDataset(root);
  return new Sampler(ds, samplerConfig(policy, opts));
}

function armSlice(v: ArrayLike<number> | undefined, key: string, field: string): number[] {
  if (!v || v.length < ARM_DIM + 1)
    throw new Error(
      `dataset stats: ${key}.${field} is missing or shorter than ${ARM_DIM + 1}; recollect the dataset with 'anchor-refine collect'`,
    );
  return Array.from(v).slice(0, ARM_DIM);
}

/** The policy's normalization (arm channels only) from the dataset's meta/stats.json. */
export function policyStatsFromDataset(ds: LeRobotDataset): PolicyStats {
  const feat = (key: string) => {
    const s = ds.stats[key];
    if (!s) throw new Error(`dataset stats: no stats for '${key}' in ${ds.root}/meta/stats.json`);
    return {
      mean: armSlice(s.mean, key, 'mean'),
      std: armSlice(s.std, key, 'std'),
      q01: s.q01 ? armSlice(s.q01, key, 'q01') : undefined,
      q99: s.q99 ? armSlice(s.q99, key, 'q99') : undefined,
    };
  };
  return { mode: 'mean_std', state: feat('observation.state'), action: feat('action') };
}

/** A sim observation → the policy's raw observation (images must already be at the policy's size). */
export function toPolicyObservation(obs: Observation): PolicyObservation {
  return {
    images: { front: obs.images.front, wrist: obs.images.wrist },
    state: Array.from(obs.jointState.subarray(0, ARM_DIM)),
    gripperState: obs.jointState[GRIPPER_INDEX] > GRIPPER_STATE_THRESHOLD ? 1 : 0,
    task: obs.task,
  };
}
