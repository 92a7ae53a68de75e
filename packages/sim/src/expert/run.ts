import type { Env } from '../env/env.js';
import type { Observation } from '../env/types.js';
import { Rng } from '../math/rng.js';
import { WaypointFollower } from './follower.js';

export interface ExpertOptions {
  /** Std-dev (m) of a per-episode error in where the expert thinks the objects are (0 = exact). */
  aimNoise: number;
  /** Std-dev (rad) of Gaussian noise added to each arm joint target (joint action space only). */
  actionNoise: number;
  /** Called after every step with the observation the action was chosen on and the action. */
  onStep?: (obs: Observation, action: Float32Array) => void;
}

/** Home pose of the follower: the env starts with the gripper there (see Env HOME_POS). */
const START_YAW = 0;

/** A stateful scripted expert for one episode; `act()` returns the next action in the env's space. */
export class ExpertController {
  private readonly follower: WaypointFollower;
  private readonly noise: Rng;

  constructor(
    private readonly env: Env,
    private readonly options: Pick<ExpertOptions, 'aimNoise' | 'actionNoise'> = {
      aimNoise: 0,
      actionNoise: 0,
    },
  ) {
    const plan = env.expertPlan(options.aimNoise);
    this.follower = new WaypointFollower(plan, env.sitePos(), START_YAW);
    this.noise = new Rng(`expert-action:${env.taskId}:${env.currentSeed}`);
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
  const aimNoise = options.aimNoise ?? 0;
  const actionNoise = options.actionNoise ?? 0;
  let obs = env.reset(seed);
  const expert = new ExpertController(env, { aimNoise, actionNoise });
  for (;;) {
    const action = expert.act();
    options.onStep?.(obs, action);
    const r = env.step(action);
    obs = r.observation;
    if (r.done) return { success: r.success, steps: r.step };
  }
}
