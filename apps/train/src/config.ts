/**
 * The training config (a JSON file or an object): data, model preset, both phases' optimisation, and
 * checkpoint / logging / validation cadence. Every field is validated; messages name the field and say
 * how to fix it.
 */
import { readFileSync } from 'node:fs';
import type { BackboneType, DeepPartial, PolicyConfig, XvlaPolicyConfig } from '@anchor-refine/policy';

export type PresetName = 'tiny' | 'small' | 'paper';

/** The policy section: which backbone, its preset, and config fields to override (of that backbone). */
export type PolicySection =
  | { backbone: 'gr1'; preset: PresetName; overrides: DeepPartial<PolicyConfig> }
  | { backbone: 'xvla'; preset: PresetName; overrides: DeepPartial<XvlaPolicyConfig> };
export type PhaseName = 'anchor' | 'refine';

export interface PhaseConfig {
  /** Optimizer steps of this phase. */
  steps: number;
  /** Peak learning rate (AdamW). */
  lr: number;
  /** Linear warmup steps before the cosine decay. */
  warmupSteps: number;
  /** Cosine floor. */
  minLr: number;
  weightDecay: number;
  batchSize: number;
  /**
   * Repeat each task's training frames round(F_max / F_task) times per epoch (the sampler's
   * `balanceTasks`), so a short task gets as many samples as the longest one. Absent = false (off).
   */
  balanceTasks?: boolean;
}

export interface TrainConfig {
  /** LeRobot dataset root (from `anchor-refine collect`). */
  dataset: string;
  /** Run folder: checkpoints, metrics, TensorBoard events per phase. */
  outDir: string;
  policy: PolicySection;
  /** Seed of data order and split (the model's init seed is policy.overrides.seed). */
  seed: number;
  /** Episodes held out for validation (fraction of the dataset). */
  valFraction: number;
  anchor: PhaseConfig;
  refine: PhaseConfig;
  /** Max global gradient norm (GR-MG: 1.0). */
  clipNorm: number;
  /** Write a checkpoint every N steps (and at the end of a phase). */
  checkpointEvery: number;
  /** Checkpoints kept per phase (older ones are deleted after a new one is complete). */
  keepLast: number;
  /** Metrics line every N steps. */
  logEvery: number;
  /** Validation loss every N steps (0 = only at the end of a phase). */
  validateEvery: number;
  /** Validation batches per validation pass. */
  valBatches: number;
  /** Closed-loop sim evaluation every N steps (0 = off). */
  evalEvery: number;
  /** Episodes per task of that evaluation. */
  evalEpisodes: number;
  /** Random-shift image augmentation: max shift in pixels (0 = off), both phases. */
  augmentShift: number;
  /**
   * Phase 1 only: probability that a sample's arm state is replaced by the dataset mean (augment.ts
   * `dropState`), so the image pathway must carry the object's position. 0 = off.
   */
  stateDropout: number;
  /**
   * Both phases: decay cap of an exponential moving average of the trained weights (nn `Ema`); the
   * phase's `final/` policy holds the average, checkpoints hold both. 0 = off (final = last weights).
   */
  emaDecay: number;
  /**
   * Both phases: the first `frames` frames of every training episode appear `factor` times per epoch
   * (the sampler's `oversampleStart`). Absent = every frame once.
   */
  oversampleStart?: { frames: number; factor: number };
  /**
   * Both phases: the frames from `before` frames ahead of each gripper-command change to `after` frames
   * past it appear `factor` times per epoch (the sampler's `oversampleSwitches`). Absent = off.
   */
  oversampleSwitches?: { before: number; after: number; factor: number };
  /**
   * Phase 2 only: the refiner trains on this dataset instead of `dataset` — e.g. demos that phase 1 never
   * saw, so the residual targets are the anchor's errors on new episodes rather than on the ones it fit
   * (cross-fitting; README, stop 12). The model keeps phase 1's normalization. Absent = `dataset`.
   */
  refineDataset?: string;
}

export const DEFAULT_PHASE: Record<PhaseName, PhaseConfig> = {
  // Phase 1 learns the whole backbone from scratch: a higher peak LR with a short warmup.
  anchor: { steps: 1000, lr: 1e-3, warmupSteps: 50, minLr: 1e-5, weightDecay: 0.01, batchSize: 8 },
  // Phase 2 fits a small residual on a frozen context; a phase-1 LR makes it noisy (policy learning test).
  refine: { steps: 500, lr: 5e-4, warmupSteps: 20, minLr: 1e-5, weightDecay: 0.01, batchSize: 16 },
};

export const DEFAULT_TRAIN: Omit<TrainConfig, 'dataset' | 'outDir'> = {
  policy: { backbone: 'gr1', preset: 'small', overrides: {} },
  seed: 0,
  valFraction: 0.1,
  anchor: DEFAULT_PHASE.anchor,
  refine: DEFAULT_PHASE.refine,
  clipNorm: 1,
  checkpointEvery: 100,
  keepLast: 3,
  logEvery: 10,
  validateEvery: 0,
  valBatches: 4,
  evalEvery: 0,
  evalEpisodes: 2,
  // ±4 px at 96 px (DrQ's and Diffusion Policy's random-shift range): from-scratch vision encoders
  // overfit a few thousand frames without it.
  augmentShift: 4,
  stateDropout: 0,
  emaDecay: 0,
};

export class TrainConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`train config: ${field} ${message}`);
    this.name = 'TrainConfigError';
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function num(o: Json, key: string, path: string, def: number, check: (v: number) => boolean, how: string) {
  const v = o[key] ?? def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v))
    throw new TrainConfigError(`${path}${key}`, `is ${JSON.stringify(v)}; ${how}`);
  return v;
}
const isInt = (v: number) => Number.isInteger(v);

function unknownKeys(o: Json, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new TrainConfigError(`${path}${k}`, `is not a config field; known fields: ${allowed.join(', ')}`);
}

function phase(o: unknown, name: PhaseName): PhaseConfig {
  const d = DEFAULT_PHASE[name];
  if (o === undefined) return { ...d };
  if (!isObj(o)) throw new TrainConfigError(name, 'must be an object like {"steps": 500, "lr": 0.001}');
  unknownKeys(o, [...Object.keys(d), 'balanceTasks'], `${name}.`);
  const p = `${name}.`;
  const steps = num(
    o,
    'steps',
    p,
    d.steps,
    (v) => isInt(v) && v >= 0,
    'use an integer ≥ 0 (0 skips the phase)',
  );
  const lr = num(o, 'lr', p, d.lr, (v) => v > 0 && v < 1, 'use a learning rate in (0, 1), e.g. 0.001');
  const warmupSteps = num(
    o,
    'warmupSteps',
    p,
    d.warmupSteps,
    (v) => isInt(v) && v >= 0,
    'use an integer ≥ 0',
  );
  const minLr = num(o, 'minLr', p, d.minLr, (v) => v >= 0 && v <= lr, `use a number in [0, lr=${lr}]`);
  const weightDecay = num(o, 'weightDecay', p, d.weightDecay, (v) => v >= 0, 'use a number ≥ 0');
  const batchSize = num(o, 'batchSize', p, d.batchSize, (v) => isInt(v) && v >= 1, 'use an integer ≥ 1');
  const out: PhaseConfig = { steps, lr, warmupSteps, minLr, weightDecay, batchSize };
  if (o.balanceTasks !== undefined) {
    if (typeof o.balanceTasks !== 'boolean')
      throw new TrainConfigError(
        `${p}balanceTasks`,
        `is ${JSON.stringify(o.balanceTasks)}; use true or false`,
      );
    out.balanceTasks = o.balanceTasks;
  }
  return out;
}

/** Validates a parsed config (defaults fill absent fields). */
export function validateTrainConfig(input: unknown): TrainConfig {
  if (!isObj(input)) throw new TrainConfigError('(root)', 'must be a JSON object');
  const d = DEFAULT_TRAIN;
  unknownKeys(
    input,
    ['dataset', 'outDir', ...Object.keys(d), 'oversampleStart', 'oversampleSwitches', 'refineDataset'],
    '',
  );
  for (const k of ['dataset', 'outDir'] as const) {
    if (typeof input[k] !== 'string' || input[k] === '')
      throw new TrainConfigError(k, `is ${JSON.stringify(input[k])}; give a folder path (string)`);
  }
  const pol = input.policy ?? d.policy;
  if (!isObj(pol))
    throw new TrainConfigError(
      'policy',
      'must be {"backbone": "gr1" | "xvla", "preset": "small", "overrides": {...}}',
    );
  unknownKeys(pol, ['backbone', 'preset', 'overrides'], 'policy.');
  const backbone = (pol.backbone ?? 'gr1') as BackboneType;
  if (backbone !== 'gr1' && backbone !== 'xvla')
    throw new TrainConfigError(
      'policy.backbone',
      `is ${JSON.stringify(pol.backbone)}; use 'gr1' (regression) or 'xvla' (flow / denoise)`,
    );
  const preset = pol.preset ?? 'small';
  if (preset !== 'tiny' && preset !== 'small' && preset !== 'paper')
    throw new TrainConfigError(
      'policy.preset',
      `is ${JSON.stringify(preset)}; use 'tiny', 'small' or 'paper'`,
    );
  const overrides = pol.overrides ?? {};
  if (!isObj(overrides))
    throw new TrainConfigError(
      'policy.overrides',
      `must be an object of ${backbone === 'xvla' ? 'XvlaPolicyConfig' : 'PolicyConfig'} fields to override`,
    );
  if (backbone === 'xvla' && preset === 'paper')
    throw new TrainConfigError(
      'policy.preset',
      "is 'paper' with backbone 'xvla': that preset needs Florence-2 weights and its BART tokenizer from a local folder, which the training app does not load; use 'tiny' or 'small'",
    );
  const cfg: TrainConfig = {
    dataset: input.dataset as string,
    outDir: input.outDir as string,
    policy:
      backbone === 'xvla'
        ? { backbone, preset, overrides: overrides as DeepPartial<XvlaPolicyConfig> }
        : { backbone, preset, overrides: overrides as DeepPartial<PolicyConfig> },
    seed: num(input, 'seed', '', d.seed, (v) => isInt(v) && v >= 0, 'use an integer ≥ 0'),
    valFraction: num(
      input,
      'valFraction',
      '',
      d.valFraction,
      (v) => v >= 0 && v < 1,
      'use a fraction in [0, 1)',
    ),
    anchor: phase(input.anchor, 'anchor'),
    refine: phase(input.refine, 'refine'),
    clipNorm: num(
      input,
      'clipNorm',
      '',
      d.clipNorm,
      (v) => v > 0,
      'use a max gradient norm > 0 (1 is usual)',
    ),
    checkpointEvery: num(
      input,
      'checkpointEvery',
      '',
      d.checkpointEvery,
      (v) => isInt(v) && v >= 1,
      'use an integer ≥ 1',
    ),
    keepLast: num(
      input,
      'keepLast',
      '',
      d.keepLast,
      (v) => isInt(v) && v >= 1,
      'use an integer ≥ 1 (checkpoints kept per phase)',
    ),
    logEvery: num(input, 'logEvery', '', d.logEvery, (v) => isInt(v) && v >= 1, 'use an integer ≥ 1'),
    validateEvery: num(
      input,
      'validateEvery',
      '',
      d.validateEvery,
      (v) => isInt(v) && v >= 0,
      'use an integer ≥ 0 (0 = at the end only)',
    ),
    valBatches: num(input, 'valBatches', '', d.valBatches, (v) => isInt(v) && v >= 1, 'use an integer ≥ 1'),
    evalEvery: num(
      input,
      'evalEvery',
      '',
      d.evalEvery,
      (v) => isInt(v) && v >= 0,
      'use an integer ≥ 0 (0 = off)',
    ),
    evalEpisodes: num(
      input,
      'evalEpisodes',
      '',
      d.evalEpisodes,
      (v) => isInt(v) && v >= 1,
      'use an integer ≥ 1',
    ),
    augmentShift: num(
      input,
      'augmentShift',
      '',
      d.augmentShift,
      (v) => isInt(v) && v >= 0 && v <= 32,
      'use an integer number of pixels in [0, 32] (0 = off)',
    ),
    stateDropout: num(
      input,
      'stateDropout',
      '',
      d.stateDropout,
      (v) => v >= 0 && v < 1,
      'use a probability in [0, 1) (0 = off)',
    ),
    emaDecay: num(
      input,
      'emaDecay',
      '',
      d.emaDecay,
      (v) => v >= 0 && v < 1,
      'use a decay in [0, 1), e.g. 0.999 (0 = off)',
    ),
  };
  const os = input.oversampleStart;
  if (os !== undefined) {
    if (!isObj(os))
      throw new TrainConfigError('oversampleStart', 'must be an object like {"frames": 8, "factor": 2}');
    unknownKeys(os, ['frames', 'factor'], 'oversampleStart.');
    const how = (what: string) => `use an integer ≥ 1 (${what})`;
    for (const k of ['frames', 'factor'])
      if (os[k] === undefined)
        throw new TrainConfigError(`oversampleStart.${k}`, 'is missing; give both frames and factor');
    cfg.oversampleStart = {
      frames: num(
        os,
        'frames',
        'oversampleStart.',
        Number.NaN,
        (v) => isInt(v) && v >= 1,
        how('frames from each episode start'),
      ),
      factor: num(
        os,
        'factor',
        'oversampleStart.',
        Number.NaN,
        (v) => isInt(v) && v >= 1,
        how('times each appears per epoch'),
      ),
    };
  }
  const ow = input.oversampleSwitches;
  if (ow !== undefined) {
    if (!isObj(ow))
      throw new TrainConfigError(
        'oversampleSwitches',
        'must be an object like {"before": 4, "after": 1, "factor": 2}',
      );
    unknownKeys(ow, ['before', 'after', 'factor'], 'oversampleSwitches.');
    for (const k of ['before', 'after', 'factor'])
      if (ow[k] === undefined)
        throw new TrainConfigError(`oversampleSwitches.${k}`, 'is missing; give before, after and factor');
    const p = 'oversampleSwitches.';
    const frames = (v: number) => isInt(v) && v >= 0;
    cfg.oversampleSwitches = {
      before: num(ow, 'before', p, Number.NaN, frames, 'use an integer ≥ 0 (frames before the switch)'),
      after: num(ow, 'after', p, Number.NaN, frames, 'use an integer ≥ 0 (frames after the switch)'),
      factor: num(
        ow,
        'factor',
        p,
        Number.NaN,
        (v) => isInt(v) && v >= 1,
        'use an integer ≥ 1 (times per epoch)',
      ),
    };
  }
  if (input.refineDataset !== undefined) {
    if (typeof input.refineDataset !== 'string' || input.refineDataset === '')
      throw new TrainConfigError(
        'refineDataset',
        `is ${JSON.stringify(input.refineDataset)}; give a dataset folder path (string), or leave it out`,
      );
    cfg.refineDataset = input.refineDataset;
  }
  return cfg;
}

/** Reads and validates a JSON config file; `overrides` (e.g. from CLI flags) win over the file. */
export function loadTrainConfig(path: string, overrides: Json = {}): TrainConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TrainConfigError('(file)', `${path} could not be read as JSON: ${(err as Error).message}`);
  }
  if (!isObj(raw)) throw new TrainConfigError('(root)', `${path} must hold a JSON object`);
  return validateTrainConfig({ ...raw, ...overrides });
}
