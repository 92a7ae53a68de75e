import { ACTION_DIM, type ActionSpace } from './types.js';

export interface RandomizeOptions {
  /** Object start poses (and static fixtures like the box or cabinet) drawn per seed. */
  objectPoses: boolean;
  /** Per-episode colour jitter of task objects and the table. */
  colors: boolean;
  /** Random light direction per episode (otherwise a fixed key light from the front left). */
  light: boolean;
  /** Std-dev of the front camera's position jitter (m) per episode; 0 = off. */
  cameraPosition: number;
  /** Std-dev of the front camera's yaw/pitch jitter (rad) per episode; 0 = off. */
  cameraAngle: number;
  /** Std-dev of the initial arm joint angles around the home pose (rad). */
  initialJoints: number;
}

export interface EnvOptions {
  actionSpace: ActionSpace;
  /** 96×96 matches the target policies' input and keeps two cameras at ≈4 ms a step. */
  imageWidth: number;
  imageHeight: number;
  /** Render the cameras every step; off gives 0×0 images (expert-success sweeps, physics-only runs). */
  render: boolean;
  shadows: boolean;
  /** Control rate; 10 Hz is the paper's real-robot rate. Physics substeps = 1 / (hz · 2 ms). */
  controlHz: number;
  /**
   * Physics step (s). 4 ms (25 substeps per 10 Hz action) halves the cost of the feasibility study's
   * 2 ms; expert success over 100 seeds per task is 100 % with either (see README).
   */
  physicsTimestep: number;
  /** Episode step limit; defaults to the task's own (sized for the expert plus slack). */
  maxSteps: number | undefined;
  randomize: RandomizeOptions;
}

export type EnvOptionsInput = Partial<Omit<EnvOptions, 'randomize'>> & {
  randomize?: Partial<RandomizeOptions>;
};

export const DEFAULT_RANDOMIZE: RandomizeOptions = {
  objectPoses: true,
  colors: false,
  light: false,
  cameraPosition: 0,
  cameraAngle: 0,
  // Small start-pose diversity so demos do not all begin identically; 0.02 rad ≈ 3 mm at the tip.
  initialJoints: 0.02,
};

export const DEFAULT_ENV_OPTIONS: EnvOptions = {
  actionSpace: 'joint',
  imageWidth: 96,
  imageHeight: 96,
  render: true,
  shadows: true,
  controlHz: 10,
  physicsTimestep: 0.004,
  maxSteps: undefined,
  randomize: DEFAULT_RANDOMIZE,
};

function positiveInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new Error(`EnvOptions.${name} must be an integer in [1, ${max}], got ${v}`);
}
function nonNegative(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`EnvOptions.${name} must be a finite number ≥ 0, got ${v}`);
}

export function resolveEnvOptions(input: EnvOptionsInput = {}): EnvOptions {
  const o: EnvOptions = {
    ...DEFAULT_ENV_OPTIONS,
    ...input,
    randomize: { ...DEFAULT_RANDOMIZE, ...(input.randomize ?? {}) },
  };
  if (!(o.actionSpace in ACTION_DIM))
    throw new Error(
      `EnvOptions.actionSpace must be one of ${Object.keys(ACTION_DIM).join(', ')}, got ${String(o.actionSpace)}`,
    );
  positiveInt('imageWidth', o.imageWidth, 1024);
  positiveInt('imageHeight', o.imageHeight, 1024);
  if (!Number.isFinite(o.controlHz) || o.controlHz <= 0 || o.controlHz > 500)
    throw new Error(`EnvOptions.controlHz must be in (0, 500], got ${o.controlHz}`);
  if (!Number.isFinite(o.physicsTimestep) || o.physicsTimestep < 0.0005 || o.physicsTimestep > 0.01)
    throw new Error(`EnvOptions.physicsTimestep must be in [0.0005, 0.01] s, got ${o.physicsTimestep}`);
  if (o.maxSteps !== undefined) positiveInt('maxSteps', o.maxSteps, 100_000);
  for (const k of ['cameraPosition', 'cameraAngle', 'initialJoints'] as const)
    nonNegative(`randomize.${k}`, o.randomize[k]);
  return o;
}
