import { type Env, HOME_POS } from '../env/env.js';
import type { Observation } from '../env/types.js';
import { Rng } from '../math/rng.js';
import { nearestWaypoint, WaypointFollower } from './follower.js';

export interface ExpertOptions {
  /** Std-dev (m) of a per-episode error in where the expert thinks the objects are (0 = exact). */
  aimNoise: number;
  /** Std-dev (rad) of Gaussian noise added to each arm joint target (joint action space only). */
  actionNoise: number;
  /**
   * DART-style disturbance (Laskey et al. 2017), joint action space only: the stationary std-dev (rad) of
   * an AR(1) offset (correlation `EXECUTION_NOISE_RHO` per step, ≈ 0.5 s) added to the arm joints of the
   * action that is *executed*, while `onStep` still reports the expert's own action. The demos then show
   * states off the expert's path labelled with the way back to it. 0 = off.
   */
  executionNoise?: number;
  /**
   * Disturb only the first this-many steps (default: all). After them no new noise enters and the offset
   * halves every step, so the expert — whose targets are absolute joint positions — is back on its path
   * before the grasp: the demos show approaches from off the path without failing the task.
   */
  executionNoiseSteps?: number;
  /** Called after every step with the observation the action was chosen on and the action. */
  onStep?: (obs: Observation, action: Float32Array) => void;
}

/** Per-step correlation of the execution disturbance: ρ = 0.8 at 10 Hz decays to 1/e in ≈ 0.45 s. */
export const EXECUTION_NOISE_RHO = 0.8;

/** Home pose of the follower: the env starts with the gripper there (see Env HOME_POS). */
const START_YAW = 0;

/** A stateful scripted expert for one episode; `act()` returns the next action in the env's space. */
export class ExpertController {
  private readonly follower: WaypointFollower;
  private readonly noise: Rng;
  private readonly execNoise: Rng;
  private readonly offset = new Float64Array(5);
  private step = 0;

  /**
   * Plans from the objects' current poses and starts the follower at the gripper's current position, so
   * it can also take over mid-episode (`takeOverWithExpert`). `start` 'home': an episode's start (yaw 0,
   * the plan's first waypoint); 'takeover': the gripper's current yaw (`env.siteYaw()`) and the plan's
   * `nearestWaypoint`.
   */
  constructor(
    private readonly env: Env,
    private readonly options: Pick<
      ExpertOptions,
      'aimNoise' | 'actionNoise' | 'executionNoise' | 'executionNoiseSteps'
    > = {
      aimNoise: 0,
      actionNoise: 0,
    },
    start: 'home' | 'takeover' = 'home',
  ) {
    const plan = env.expertPlan(options.aimNoise);
    const at = env.sitePos();
    this.follower =
      start === 'takeover'
        ? new WaypointFollower(plan, at, env.siteYaw(), nearestWaypoint(plan, at, HOME_POS))
        : new WaypointFollower(plan, at, START_YAW);
    this.noise = new Rng(`expert-action:${env.taskId}:${env.currentSeed}`);
    this.execNoise = new Rng(`expert-execution:${env.taskId}:${env.currentSeed}`);
    const sd = options.executionNoise ?? 0;
    if (!(sd >= 0)) throw new Error(`ExpertController: executionNoise must be ≥ 0 rad, got ${sd}`);
    const w = options.executionNoiseSteps;
    if (w !== undefined && !(Number.isInteger(w) && w >= 0))
      throw new Error(`ExpertController: executionNoiseSteps must be an integer ≥ 0, got ${w}`);
    for (let k = 0; k < 5; k++) this.offset[k] = sd > 0 ? this.execNoise.normal(0, sd) : 0;
  }

  /**
   * The action to execute for the expert's action `a`: `a` itself, or (executionNoise > 0, joint space) a
   * copy with the AR(1) disturbance on the arm joints, o_t = ρ·o_{t−1} + √(1−ρ²)·σ·ε (stationary std σ).
   */
  executed(a: Float32Array): Float32Array {
    const sd = this.options.executionNoise ?? 0;
    if (!(sd > 0) || this.env.options.actionSpace !== 'joint') return a;
    const out = a.slice();
    const rho = EXECUTION_NOISE_RHO;
    const noisy = this.step + 1 < (this.options.executionNoiseSteps ?? Number.POSITIVE_INFINITY);
    this.step++;
    for (let k = 0; k < 5; k++) {
      out[k] += this.offset[k];
      this.offset[k] = noisy
        ? rho * this.offset[k] + Math.sqrt(1 - rho * rho) * this.execNoise.normal(0, sd)
        : 0.5 * this.offset[k];
    }
    return out;
  }

  act(): Float32Array {
    const c = this.follower.next();
    const a = this.env.topDownAction(c.pos, c.yaw, c.grip);
    if (this.options.actionNoise > 0 && this.env.options.actionSpace === 'joint')
      for (let k = 0; k < 5; k++) a[k] += this.noise.normal(0, this.options.actionNoise);
    return a;
  }
}

export interface ExpertResult {
  success: boolean;
  steps: number;
}

/** Resets `env` with `seed` and runs the scripted expert until success or the step limit. */
export function runExpert(env: Env, seed: number, options: Partial<ExpertOptions> = {}): ExpertResult {
  const obs = env.reset(seed);
  return driveExpert(env, obs, options, 'home');
}

/**
 * Hands a running episode to the scripted expert: it replans from the objects' current poses, starts
 * from the gripper's current pose and yaw at the plan's waypoint nearest to where the gripper is
 * (`nearestWaypoint`: progress made toward the object is kept, not undone by a climb back to the first
 * waypoint), and runs until success or the step limit. `obs` is the
 * observation of the current state (the last `step`'s); before any reset the plan throws. The episode's
 * steps so far count against its limit. Valid while the task's objects are where a plan can start from (before a grasp: `plan()`
 * aims at the object's current pose).
 */
export function takeOverWithExpert(
  env: Env,
  obs: Observation,
  options: Partial<ExpertOptions> = {},
): ExpertResult {
  return driveExpert(env, obs, options, 'takeover');
}

function driveExpert(
  env: Env,
  first: Observation,
  options: Partial<ExpertOptions>,
  start: 'home' | 'takeover',
): ExpertResult {
  const aimNoise = options.aimNoise ?? 0;
  const actionNoise = options.actionNoise ?? 0;
  const executionNoise = options.executionNoise ?? 0;
  const { executionNoiseSteps } = options;
  let obs = first;
  const expert = new ExpertController(
    env,
    {
      aimNoise,
      actionNoise,
      executionNoise,
      ...(executionNoiseSteps !== undefined ? { executionNoiseSteps } : {}),
    },
    start,
  );
  for (;;) {
    const action = expert.act();
    options.onStep?.(obs, action);
    const r = env.step(expert.executed(action));
    obs = r.observation;
    if (r.done) return { success: r.success, steps: r.step };
  }
}
