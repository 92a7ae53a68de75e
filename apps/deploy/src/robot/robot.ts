/** The robot contract the control loop drives: the SO-101 over serial and the simulator both implement it. */

export interface RobotImage {
  data: Uint8Array; // HWC RGB
  height: number;
  width: number;
}

export interface RobotState {
  /** arm joints in the robot's policy units (sim: rad; SO-101: degrees or ±100) */
  joints: Float32Array;
  /** 0 open … 1 closed */
  gripper: number;
}

export interface Robot {
  readonly name: string;
  /** arm joints (gripper excluded) */
  readonly armDim: number;
  /** per-joint limits in policy units; actions are clamped to them */
  readonly jointLimits: { min: Float32Array; max: Float32Array };
  /** camera names, in the order they map to the policy's cameras */
  readonly cameras: string[];
  readState(): Promise<RobotState>;
  readImages(): Promise<Record<string, RobotImage>>;
  /** Commands joint targets and the gripper (0 open … 1 closed). */
  sendAction(joints: Float32Array, gripper: number): Promise<void>;
  /** Releases the motors (torque off). Safe to call more than once. */
  disableTorque(): Promise<void>;
  close(): Promise<void>;
}
