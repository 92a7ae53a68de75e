/**
 * LeRobot's SO-101 calibration procedure: torque off, position mode; the user poses every joint at
 * mid-range and `Homing_Offset = actual − 2047` is written so that pose reads 2047; the user sweeps each
 * joint (wrist_roll is fixed to 0..4095) while min/max ticks are recorded; offsets and limits go to EEPROM
 * and the file is saved.
 */

import type { FeetechBus } from '../feetech/bus.js';
import { type Calibration, SO101_MOTORS, type So101Motor } from './calibration.js';

export interface CalibrateIo {
  /** Shows `message` and resolves when the user is ready (e.g. presses Enter). */
  waitForUser(message: string): Promise<void>;
  /** Optional sweep end test polled between reads; default: the sweep prompt resolved (Enter). */
  sweepDone?(): boolean;
  log?(line: string): void;
}

export async function calibrateSo101(
  bus: FeetechBus,
  io: CalibrateIo,
  ids?: Record<So101Motor, number>,
): Promise<Calibration> {
  const idOf = (m: So101Motor) => ids?.[m] ?? SO101_MOTORS.indexOf(m) + 1;
  const all = SO101_MOTORS.map(idOf);
  for (const v of ['Torque_Enable', 'Lock'] as const)
    await bus.syncWriteRegister(v, new Map(all.map((id) => [id, 0])));
  for (const id of all) {
    await bus.writeRegister(id, 'Operating_Mode', 0);
    await bus.writeRegister(id, 'Homing_Offset', 0);
  }
  await io.waitForUser('Move every joint of the arm to the middle of its range, then press Enter.');
  const mid = await bus.syncReadRegister(all, 'Present_Position');
  const offsets = new Map<number, number>();
  for (const id of all) {
    const off = (mid.get(id) ?? 2047) - 2047;
    offsets.set(id, off);
    await bus.writeRegister(id, 'Homing_Offset', off);
  }
  let ended = false;
  const prompt = io
    .waitForUser('Move each joint (except wrist_roll) through its full range, then press Enter.')
    .then(() => {
      ended = true;
    });
  const lo = new Map(all.map((id) => [id, 4095]));
  const hi = new Map(all.map((id) => [id, 0]));
  while (!(io.sweepDone ? io.sweepDone() : ended)) {
    const p = await bus.syncReadRegister(all, 'Present_Position');
    for (const [id, v] of p) {
      lo.set(id, Math.min(lo.get(id) ?? 4095, v));
      hi.set(id, Math.max(hi.get(id) ?? 0, v));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!io.sweepDone) await prompt;
  const cal = {} as Calibration;
  for (const m of SO101_MOTORS) {
    const id = idOf(m);
    let min = lo.get(id) ?? 0;
    let max = hi.get(id) ?? 4095;
    if (m === 'wrist_roll') [min, max] = [0, 4095];
    if (min >= max)
      throw new Error(`calibrate: joint '${m}' was not moved (range ${min}..${max}); sweep it and retry`);
    await bus.writeRegister(id, 'Min_Position_Limit', min);
    await bus.writeRegister(id, 'Max_Position_Limit', max);
    cal[m] = { id, drive_mode: 0, homing_offset: offsets.get(id) ?? 0, range_min: min, range_max: max };
    io.log?.(`${m}: offset ${cal[m].homing_offset}, range ${min}..${max}`);
  }
  return cal;
}
