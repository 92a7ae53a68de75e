/**
 * LeRobot-compatible calibration files for the SO-101 follower:
 * `{"shoulder_pan": {"id": 1, "drive_mode": 0, "homing_offset": -1469, "range_min": 775, "range_max": 3289}, …}`
 * at `$HF_LEROBOT_CALIBRATION/robots/<robot name>/<id>.json` (default root
 * `~/.cache/huggingface/lerobot/calibration`), plus the unit conversions LeRobot applies.
 */

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const SO101_MOTORS = [
  'shoulder_pan',
  'shoulder_lift',
  'elbow_flex',
  'wrist_flex',
  'wrist_roll',
  'gripper',
] as const;
export type So101Motor = (typeof SO101_MOTORS)[number];

export interface MotorCalibration {
  id: number;
  drive_mode: number;
  homing_offset: number;
  range_min: number;
  range_max: number;
}

export type Calibration = Record<So101Motor, MotorCalibration>;

/** Body-joint units: LeRobot's `use_degrees=True` (≥ v0.4.4) or the older ±100 range. */
export type JointUnits = 'degrees' | 'range_m100_100';

export function calibrationPath(robotId: string, robotName = 'so_follower', root?: string): string {
  const base =
    root ?? process.env.HF_LEROBOT_CALIBRATION ?? join(homedir(), '.cache/huggingface/lerobot/calibration');
  return join(base, 'robots', robotName, `${robotId}.json`);
}

export function validateCalibration(raw: unknown, source = 'calibration'): Calibration {
  if (typeof raw !== 'object' || raw === null)
    throw new Error(`${source}: must be a JSON object keyed by motor name`);
  const o = raw as Record<string, unknown>;
  if (Array.isArray(o.homing_offset))
    throw new Error(
      `${source}: this is the pre-2025 LeRobot format (parallel arrays); recalibrate with \`calibrate\``,
    );
  const out = {} as Calibration;
  for (const m of SO101_MOTORS) {
    const c = o[m] as Record<string, unknown> | undefined;
    if (typeof c !== 'object' || c === null) throw new Error(`${source}: missing motor '${m}'`);
    for (const f of ['id', 'drive_mode', 'homing_offset', 'range_min', 'range_max'])
      if (!Number.isInteger(c[f]))
        throw new Error(`${source}: ${m}.${f} must be an integer, got ${JSON.stringify(c[f])}`);
    const mc = c as unknown as MotorCalibration;
    if (mc.range_min < 0 || mc.range_max > 4095 || mc.range_min >= mc.range_max)
      throw new Error(
        `${source}: ${m} needs 0 ≤ range_min < range_max ≤ 4095, got ${mc.range_min}..${mc.range_max}`,
      );
    if (Math.abs(mc.homing_offset) > 2047)
      throw new Error(`${source}: ${m}.homing_offset must be within ±2047`);
    out[m] = {
      id: mc.id,
      drive_mode: mc.drive_mode,
      homing_offset: mc.homing_offset,
      range_min: mc.range_min,
      range_max: mc.range_max,
    };
  }
  return out;
}

export async function loadCalibration(path: string): Promise<Calibration> {
  return validateCalibration(JSON.parse(await readFile(path, 'utf8')), path);
}

/** Writes through a temp file and a rename (LeRobot writes 4-space-indented JSON). */
export async function saveCalibration(path: string, cal: Calibration): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cal, null, 4)}\n`);
  await rename(tmp, path);
}

/** Raw ticks → policy units (LeRobot `_normalize`). The gripper is 0..100 with 0 = closed. */
export function ticksToUnits(raw: number, c: MotorCalibration, units: JointUnits | 'range_0_100'): number {
  const { range_min: lo, range_max: hi } = c;
  if (units === 'degrees') return ((raw - (lo + hi) / 2) * 360) / 4095;
  const r = Math.min(hi, Math.max(lo, raw));
  if (units === 'range_0_100') return ((r - lo) / (hi - lo)) * 100;
  const v = ((r - lo) / (hi - lo)) * 200 - 100;
  return c.drive_mode ? -v : v;
}

/** Policy units → raw ticks (LeRobot `_unnormalize`, truncating), clamped to the calibrated range. */
export function unitsToTicks(value: number, c: MotorCalibration, units: JointUnits | 'range_0_100'): number {
  const { range_min: lo, range_max: hi } = c;
  let raw: number;
  if (units === 'degrees') raw = Math.trunc((value * 4095) / 360 + (lo + hi) / 2);
  else if (units === 'range_0_100') raw = Math.trunc((value / 100) * (hi - lo) + lo);
  else raw = Math.trunc((((c.drive_mode ? -value : value) + 100) / 200) * (hi - lo) + lo);
  return Math.min(hi, Math.max(lo, raw));
}
