/**
 * SO-101 follower over a Feetech STS3215 bus: motor ids 1..6 (shoulder_pan … gripper), LeRobot
 * calibration files, body joints in degrees (or ±100) and the gripper as 0 open … 1 closed (LeRobot's
 * 0..100 gripper range has 0 = closed). Configure on connect follows LeRobot's settings.
 */

import type { FfmpegCamera } from '../camera.js';
import type { FeetechBus } from '../feetech/bus.js';
import type { Robot, RobotImage, RobotState } from '../robot.js';
import {
  type Calibration,
  type JointUnits,
  SO101_MOTORS,
  ticksToUnits,
  unitsToTicks,
} from './calibration.js';

export interface So101Options {
  calibration: Calibration;
  units?: JointUnits;
  cameras?: FfmpegCamera[];
}

const ARM = SO101_MOTORS.slice(0, 5);

export class So101Follower implements Robot {
  readonly name = 'so101';
  readonly armDim = 5;
  readonly jointLimits: { min: Float32Array; max: Float32Array };
  readonly cameras: string[];
  readonly units: JointUnits;
  private readonly ids: number[];
  private torqueOn = false;

  constructor(
    readonly bus: FeetechBus,
    private readonly options: So101Options,
  ) {
    this.units = options.units ?? 'degrees';
    const cal = options.calibration;
    this.ids = SO101_MOTORS.map((m) => cal[m].id);
    this.cameras = (options.cameras ?? []).map((c) => c.config.name);
    const lim = ARM.map((m) => [
      ticksToUnits(cal[m].range_min, cal[m], this.units),
      ticksToUnits(cal[m].range_max, cal[m], this.units),
    ]);
    this.jointLimits = {
      min: Float32Array.from(lim.map(([a, b]) => Math.min(a, b))),
      max: Float32Array.from(lim.map(([a, b]) => Math.max(a, b))),
    };
  }

  /** Pings every motor, checks the calibration in EEPROM, applies LeRobot's configuration, torque on. */
  async connect(): Promise<void> {
    const cal = this.options.calibration;
    for (const m of SO101_MOTORS) {
      const id = cal[m].id;
      if (!(await this.bus.ping(id))) throw new Error(`SO-101: motor '${m}' (id ${id}) does not answer`);
      const model = await this.bus.readRegister(id, 'Model_Number');
      if (model !== 777)
        throw new Error(`SO-101: motor '${m}' (id ${id}) has model ${model}, expected STS3215 (777)`);
    }
    await this.disableTorque();
    for (const m of SO101_MOTORS) {
      const { id, homing_offset, range_min, range_max } = cal[m];
      await this.bus.writeRegister(id, 'Return_Delay_Time', 0);
      await this.bus.writeRegister(id, 'Maximum_Acceleration', 254);
      await this.bus.writeRegister(id, 'Acceleration', 254);
      await this.bus.writeRegister(id, 'Operating_Mode', 0);
      await this.bus.writeRegister(id, 'P_Coefficient', 16);
      await this.bus.writeRegister(id, 'I_Coefficient', 0);
      await this.bus.writeRegister(id, 'D_Coefficient', 32);
      if (m === 'gripper') {
        await this.bus.writeRegister(id, 'Max_Torque_Limit', 500);
        await this.bus.writeRegister(id, 'Protection_Current', 250);
        await this.bus.writeRegister(id, 'Overload_Torque', 25);
      }
      // Calibration lives in EEPROM; rewrite it when it differs from the file.
      if ((await this.bus.readRegister(id, 'Homing_Offset')) !== homing_offset)
        await this.bus.writeRegister(id, 'Homing_Offset', homing_offset);
      if ((await this.bus.readRegister(id, 'Min_Position_Limit')) !== range_min)
        await this.bus.writeRegister(id, 'Min_Position_Limit', range_min);
      if ((await this.bus.readRegister(id, 'Max_Position_Limit')) !== range_max)
        await this.bus.writeRegister(id, 'Max_Position_Limit', range_max);
    }
    for (const cam of this.options.cameras ?? []) cam.start();
    for (const cam of this.options.cameras ?? []) await cam.waitReady();
    // Hold the present pose before enabling torque, so the arm does not jump.
    const present = await this.bus.syncReadRegister(this.ids, 'Present_Position');
    await this.bus.syncWriteRegister('Goal_Position', present);
    await this.setTorque(true);
  }

  private async setTorque(on: boolean): Promise<void> {
    const v = on ? 1 : 0;
    await this.bus.syncWriteRegister('Torque_Enable', new Map(this.ids.map((id) => [id, v])));
    await this.bus.syncWriteRegister('Lock', new Map(this.ids.map((id) => [id, v])));
    this.torqueOn = on;
  }

  async readState(): Promise<RobotState> {
    const cal = this.options.calibration;
    const raw = await this.bus.syncReadRegister(this.ids, 'Present_Position');
    const joints = Float32Array.from(
      ARM.map((m) => ticksToUnits(raw.get(cal[m].id) ?? 0, cal[m], this.units)),
    );
    const g = ticksToUnits(raw.get(cal.gripper.id) ?? 0, cal.gripper, 'range_0_100');
    return { joints, gripper: 1 - g / 100 };
  }

  async readImages(): Promise<Record<string, RobotImage>> {
    const out: Record<string, RobotImage> = {};
    for (const cam of this.options.cameras ?? []) out[cam.config.name] = cam.read();
    return out;
  }

  async sendAction(joints: Float32Array, gripper: number): Promise<void> {
    if (!this.torqueOn) throw new Error('SO-101: torque is off (connect first)');
    const cal = this.options.calibration;
    const goal = new Map<number, number>();
    ARM.forEach((m, i) => {
      goal.set(cal[m].id, unitsToTicks(joints[i], cal[m], this.units));
    });
    goal.set(cal.gripper.id, unitsToTicks((1 - gripper) * 100, cal.gripper, 'range_0_100'));
    await this.bus.syncWriteRegister('Goal_Position', goal);
  }

  async disableTorque(): Promise<void> {
    await this.setTorque(false);
  }

  async close(): Promise<void> {
    try {
      await this.disableTorque();
    } finally {
      for (const cam of this.options.cameras ?? []) cam.stop();
      await this.bus.close();
    }
  }
}
