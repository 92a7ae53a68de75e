/** HWC RGB image. */
export interface Image {
  data: Uint8Array;
  height: number;
  width: number;
}

/**
 * What a policy sees each control step.
 * - `images.front` / `images.wrist`: HWC RGB (96×96 by default; 0×0 when rendering is off);
 * - `jointState`: 5 arm joints (rad) + gripper (0 open … 1 closed), the LeRobot SO-101 order;
 * - `eePose`: grip-site position (m, base frame = world) + orientation quaternion w x y z;
 * - `task`: the natural-language instruction.
 */
export interface Observation {
  images: { front: Image; wrist: Image };
  jointState: Float32Array;
  eePose: Float32Array;
  task: string;
}

export type TaskId = 'pick_cube' | 'push_pen' | 'stack_blocks' | 'open_drawer';
export const TASK_IDS: readonly TaskId[] = ['pick_cube', 'push_pen', 'stack_blocks', 'open_drawer'];

/**
 * - `joint`: 6 values, 5 absolute arm joint targets (rad) + gripper target in [0,1] (0 open, 1 closed);
 * - `ee_absolute`: 7 values, grip-site target xyz (m) + rotation vector (rad, world frame) + gripper;
 * - `ee_delta`: 7 values, xyz offset + rotation-vector offset applied to the *measured* EE pose + gripper.
 */
export type ActionSpace = 'joint' | 'ee_absolute' | 'ee_delta';

export const ACTION_DIM: Record<ActionSpace, number> = { joint: 6, ee_absolute: 7, ee_delta: 7 };

export interface StepResult {
  observation: Observation;
  /** The task's success predicate has held for the task's hold time (e.g. 5 s for stacking). */
  success: boolean;
  /** success, or the step limit was reached. */
  done: boolean;
  step: number;
}
