import type { TaskId } from '../env/types.js';
import type { Rng } from '../math/rng.js';
import type { Vec3 } from '../math/vec.js';
import type { Sim } from '../mujoco/adapter.js';
import type { SceneParts } from '../scene/arm.js';

/** What the task reports about the true state at one instant. */
export interface TaskStatus {
  /** The success predicate (the env turns it into success once it held for `holdSteps`). */
  goal: boolean;
  /** World position the gripper must close on, or null for non-prehensile tasks (pushing). */
  graspTarget: Vec3 | null;
  /** Both fingers touch the grasp object. */
  grasped: boolean;
  /** How far the manipulated object moved from where it started (m), for failure analysis. */
  objectDisplacement: number;
}

/** An end-effector waypoint of a scripted expert: top-down gripper, fingers closing along yaw. */
export interface Waypoint {
  pos: Vec3;
  yaw: number;
  /** Gripper command while moving to and holding this waypoint: exactly 0 (open) or 1 (closed). */
  grip: 0 | 1;
  /** Control steps to stay once reached (e.g. to let the fingers close). */
  hold?: number;
  /** Speed limit in m per control step (defaults to the expert's). */
  speed?: number;
}

export interface RandomizationOptions {
  objectPoses: boolean;
  colors: boolean;
}

/** A task bound to one compiled scene. */
export interface TaskInstance {
  /** Re-poses objects (model body_pos for static bodies, qpos for free ones) and colours; before forward(). */
  randomize(rng: Rng, options: RandomizationOptions): void;
  status(): TaskStatus;
  /**
   * Expert plan from the true state right after reset. `aimNoise` (m) is a per-episode Gaussian error
   * of the object positions the expert aims at (data diversity; 0 = perfect expert).
   */
  plan(rng: Rng, aimNoise: number): Waypoint[];
}

/** The contract every task folder implements (checked by tasks/contract.test.ts). */
export interface TaskDefinition {
  id: TaskId;
  /** Instruction given to the policy (observation.task). */
  instruction: string;
  /** Episode step limit at 10 Hz. */
  maxSteps: number;
  /** Consecutive control steps the success predicate must hold. */
  holdSteps: number;
  scene(): SceneParts;
  bind(sim: Sim): TaskInstance;
}
