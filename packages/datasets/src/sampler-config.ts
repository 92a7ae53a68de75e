import { ConfigError } from './errors.js';
import type { GripperConvention } from './gripper.js';
import { NORM_MODES, type NormMode } from './normalize.js';
import type { LeRobotDataset } from './reader.js';
import type { DatasetStats } from './stats.js';

export interface SamplerConfig {
  /** L: frames of observation history per sample (1 = current frame only) */
  history: number;
  /** H: actions per chunk */
  horizon: number;
  /** dataset camera key → name in the batch, e.g. {'observation.images.image': 'front'} */
  cameras: Record<string, string>;
  /** proprio feature (default 'observation.state') */
  stateKey?: string;
  /** action feature (default 'action') */
  actionKey?: string;
  gripper: {
    /** gripper channel of the state; absent = the gripper state is the previous frame's gripper command */
    stateIndex?: number;
    actionIndex: number;
    convention: GripperConvention;
    threshold?: number;
    values?: { open: number; closed: number };
    /** state channel convention/threshold when they differ from the action's (e.g. SO-101 0..100 positions) */
    stateConvention?: GripperConvention;
    stateThreshold?: number;
  };
  normalization: { default: NormMode; overrides?: Record<string, NormMode> };
  split: { valFraction?: number; valEpisodes?: number[] };
  seed: number;
  batchSize: number;
  /** resize every camera to [height, width] (bilinear); absent = native size per camera */
  imageSize?: [number, number];
  /** stats to normalize with instead of the dataset's (e.g. computeDatasetStats, or a policy checkpoint's) */
  stats?: DatasetStats;
  /** drop the last incomplete batch of an epoch (default false: no frame is left out) */
  dropLast?: boolean;
  /**
   * Oversample the start of every training episode: frames whose index in their episode is below
   * `frames` appear `factor` times in each training epoch (validation is never oversampled). On the
   * approach the object's pose must come from the images (the arm has not moved yet), so those chunks
   * carry the localisation a policy under-fits first. Absent = every frame once.
   */
  oversampleStart?: { frames: number; factor: number };
  /**
   * Oversample the frames around every change of the gripper command in a training episode: from `before`
   * frames before the first frame with the new command to `after` frames after it, `factor` times per
   * epoch. Grasps and releases are where a centimetre decides success. Absent = no such repeats.
   */
  oversampleSwitches?: { before: number; after: number; factor: number };
  /**
   * Balance the tasks of the training split: every frame of a task's episodes is repeated
   * round(F_max / F_task) times per epoch (F = the task's training frames after the rules above, F_max
   * the largest task's), on top of those rules. Scripted demos differ in length by task (a stack is ~4×
   * a push), so uniform frames give the long task most of every batch. Absent or false = off.
   */
  balanceTasks?: boolean;
  /**
   * Also yield, per history slot, each camera's frame this many steps later (the episode's last frame
   * past its end) as `futureImages`: the target of a future-frame objective (GR-1's video prediction).
   * Absent = none.
   */
  futureOffset?: number;
}

export type ResolvedSamplerConfig = SamplerConfig & {
  stateKey: string;
  actionKey: string;
  dropLast: boolean;
};

function posInt(v: unknown, field: string, how: string): void {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new ConfigError(field, `is ${JSON.stringify(v)}; ${how}`);
}

/** Validates a sampler config against a dataset; every error names the field and how to fix it. */
export function validateSamplerConfig(cfg: SamplerConfig, ds: LeRobotDataset): ResolvedSamplerConfig {
  if (cfg === null || typeof cfg !== 'object') throw new ConfigError('config', 'must be an object');
  posInt(cfg.history, 'history', 'must be an integer ≥ 1 (frames of observation history, 1 = current only)');
  posInt(cfg.horizon, 'horizon', 'must be an integer ≥ 1 (actions per chunk)');
  posInt(cfg.batchSize, 'batchSize', 'must be an integer ≥ 1');
  if (!Number.isInteger(cfg.seed))
    throw new ConfigError('seed', `is ${JSON.stringify(cfg.seed)}; must be an integer`);
  const stateKey = cfg.stateKey ?? 'observation.state';
  const actionKey = cfg.actionKey ?? 'action';
  const feats = ds.features;
  for (const [field, key] of [
    ['stateKey', stateKey],
    ['actionKey', actionKey],
  ] as const) {
    const f = feats[key];
    if (!f || !(f.dtype === 'float32' || f.dtype === 'float64') || f.shape.length !== 1) {
      const vectors = Object.keys(feats).filter(
        (k) => feats[k].dtype.startsWith('float') && feats[k].shape.length === 1,
      );
      throw new ConfigError(
        field,
        `${JSON.stringify(key)} is not a float vector feature of this dataset; pick one of ${vectors.join(', ')}`,
      );
    }
  }
  if (!cfg.cameras || typeof cfg.cameras !== 'object' || Object.keys(cfg.cameras).length === 0) {
    throw new ConfigError(
      'cameras',
      `must map at least one camera key to a name; cameras: ${ds.cameraKeys.join(', ')}`,
    );
  }
  const names = new Set<string>();
  for (const [key, name] of Object.entries(cfg.cameras)) {
    if (!ds.cameraKeys.includes(key)) {
      throw new ConfigError(
        `cameras.${key}`,
        `is not a camera feature; the dataset has ${ds.cameraKeys.join(', ') || 'none'}`,
      );
    }
    if (typeof name !== 'string' || name === '' || names.has(name)) {
      throw new ConfigError(
        `cameras.${key}`,
        `name ${JSON.stringify(name)} must be a non-empty, unique string`,
      );
    }
    names.add(name);
  }
  const g = cfg.gripper;
  if (!g || typeof g !== 'object') throw new ConfigError('gripper', 'is required: {actionIndex, convention}');
  const aDim = feats[actionKey].shape[0];
  const sDim = feats[stateKey].shape[0];
  if (!Number.isInteger(g.actionIndex) || g.actionIndex < 0 || g.actionIndex >= aDim) {
    throw new ConfigError(
      'gripper.actionIndex',
      `is ${g.actionIndex}; must be a channel of ${actionKey} in [0, ${aDim})`,
    );
  }
  if (
    g.stateIndex !== undefined &&
    (!Number.isInteger(g.stateIndex) || g.stateIndex < 0 || g.stateIndex >= sDim)
  ) {
    throw new ConfigError(
      'gripper.stateIndex',
      `is ${g.stateIndex}; must be a channel of ${stateKey} in [0, ${sDim}) or absent`,
    );
  }
  for (const [field, conv] of [
    ['gripper.convention', g.convention],
    ['gripper.stateConvention', g.stateConvention],
  ] as const) {
    if (field === 'gripper.stateConvention' && conv === undefined) continue;
    if (conv !== 'closed-positive' && conv !== 'open-positive' && conv !== 'zero-one') {
      throw new ConfigError(
        field,
        `is ${JSON.stringify(conv)}; use 'closed-positive' (LIBERO: −1 open/+1 close), 'open-positive' (CALVIN: −1 close/+1 open; SO-101 gripper.pos) or 'zero-one'`,
      );
    }
  }
  const n = cfg.normalization;
  if (!n || !NORM_MODES.includes(n.default)) {
    throw new ConfigError(
      'normalization.default',
      `is ${JSON.stringify(n?.default)}; use one of ${NORM_MODES.join(', ')}`,
    );
  }
  for (const [k, m] of Object.entries(n.overrides ?? {})) {
    if (!feats[k]) throw new ConfigError(`normalization.overrides.${k}`, 'is not a feature of this dataset');
    if (!NORM_MODES.includes(m)) {
      throw new ConfigError(
        `normalization.overrides.${k}`,
        `is ${JSON.stringify(m)}; use one of ${NORM_MODES.join(', ')}`,
      );
    }
  }
  const s = cfg.split;
  if (!s || (s.valFraction === undefined) === (s.valEpisodes === undefined)) {
    throw new ConfigError(
      'split',
      'give exactly one of valFraction (0 ≤ f < 1) or valEpisodes (episode indices)',
    );
  }
  if (s.valFraction !== undefined && !(s.valFraction >= 0 && s.valFraction < 1)) {
    throw new ConfigError('split.valFraction', `is ${s.valFraction}; must be in [0, 1)`);
  }
  if (s.valEpisodes !== undefined) {
    for (const e of s.valEpisodes) {
      if (!Number.isInteger(e) || e < 0 || e >= ds.episodes.length) {
        throw new ConfigError(
          'split.valEpisodes',
          `contains ${e}; episodes are 0..${ds.episodes.length - 1}`,
        );
      }
    }
    if (new Set(s.valEpisodes).size >= ds.episodes.length) {
      throw new ConfigError('split.valEpisodes', 'leaves no training episode');
    }
  }
  if (cfg.imageSize !== undefined) {
    const [h, w] = cfg.imageSize;
    if (cfg.imageSize.length !== 2 || !(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
      throw new ConfigError(
        'imageSize',
        `is ${JSON.stringify(cfg.imageSize)}; must be [height, width] positive integers`,
      );
    }
  }
  const o = cfg.oversampleStart;
  if (o !== undefined) {
    if (o === null || typeof o !== 'object')
      throw new ConfigError('oversampleStart', 'must be {frames, factor} or absent');
    posInt(
      o.frames,
      'oversampleStart.frames',
      'must be an integer ≥ 1 (frames from the start of each episode)',
    );
    posInt(
      o.factor,
      'oversampleStart.factor',
      'must be an integer ≥ 1 (times each of those frames appears per epoch)',
    );
  }
  const w = cfg.oversampleSwitches;
  if (w !== undefined) {
    if (w === null || typeof w !== 'object')
      throw new ConfigError('oversampleSwitches', 'must be {before, after, factor} or absent');
    for (const k of ['before', 'after'] as const)
      if (!Number.isInteger(w[k]) || w[k] < 0)
        throw new ConfigError(
          `oversampleSwitches.${k}`,
          `is ${JSON.stringify(w[k])}; must be an integer ≥ 0 (frames)`,
        );
    posInt(
      w.factor,
      'oversampleSwitches.factor',
      'must be an integer ≥ 1 (times each of those frames appears per epoch)',
    );
  }
  if (cfg.balanceTasks !== undefined && typeof cfg.balanceTasks !== 'boolean')
    throw new ConfigError('balanceTasks', `is ${JSON.stringify(cfg.balanceTasks)}; must be true or false`);
  if (cfg.futureOffset !== undefined)
    posInt(cfg.futureOffset, 'futureOffset', 'must be an integer ≥ 1 (steps ahead of the observed frame)');
  return { ...cfg, stateKey, actionKey, dropLast: cfg.dropLast ?? false };
}
