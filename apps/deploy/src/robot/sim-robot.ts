/**
 * The simulator (`@anchor-refine/sim`) behind the Robot interface: `sendAction` steps the physics by one
 * control period (0.1 s of sim time at the default 10 Hz), images come from the ray-cast renderer.
 * When an episode ends (success or step limit) the next seed starts.
 */

import { type Env, makeEnv, type Observation, type TaskId } from '@anchor-refine/sim';
import type { Robot, RobotImage, RobotState } from './robot.js';

export interface SimRobotOptions {
  task: TaskId;
  seed?: number;
  /** rendered image side (default 96) */
  imageSize?: number;
}

/** SO-101 joint ranges used for safety clamping (rad; the sim clamps to its own ranges as well). */
export const SIM_JOINT_LIMITS = {
  min: Float32Array.of(-1.92, -1.75, -1.69, -1.66, -2.74),
  max: Float32Array.of(1.92, 1.75, 1.69, 2.2, 2.84),
};

/** `run --robot sim`'s default per-step limit (rad) of the safety filter (`--max-delta`). */
export const SIM_MAX_DELTA_PER_STEP = 0.25;

export class SimRobot implements Robot {
  readonly name = 'sim';
  readonly armDim = 5;
  readonly jointLimits = SIM_JOINT_LIMITS;
  readonly cameras = ['front', 'wrist'];
  private obs: Observation;
  torque = true;
  steps = 0;
  successes = 0;
  episodes = 0;

  private constructor(
    private readonly env: Env,
    private seed: number,
  ) {
    this.obs = env.reset(seed);
  }

  static async create(options: SimRobotOptions): Promise<SimRobot> {
    const size = options.imageSize ?? 96;
    const env = await makeEnv(options.task, { actionSpace: 'joint', imageWidth: size, imageHeight: size });
    return new SimRobot(env, options.seed ?? 0);
  }

  get task(): string {
    return this.obs.task;
  }

  async readState(): Promise<RobotState> {
    const j = this.obs.jointState;
    return { joints: j.slice(0, 5), gripper: j[5] };
  }

  async readImages(): Promise<Record<string, RobotImage>> {
    return { front: this.obs.images.front, wrist: this.obs.images.wrist };
  }

  async sendAction(joints: Float32Array, gripper: number): Promise<void> {
    if (!this.torque) throw new Error('sim robot: torque is off');
    const a = new Float32Array(6);
    a.set(joints.subarray(0, 5));
    a[5] = gripper;
    const r = this.env.step(a);
    this.obs = r.observation;
    this.steps++;
    if (r.done) {
      // A finished episode starts the next seed, so a long run keeps going.
      this.episodes++;
      if (r.success) this.successes++;
      this.obs = this.env.reset(++this.seed);
    }
  }

  async disableTorque(): Promise<void> {
    this.torque = false;
  }

  async close(): Promise<void> {
    this.torque = false;
    this.env.close();
  }
}
