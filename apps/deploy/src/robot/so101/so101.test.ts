import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeetechBus } from '../feetech/bus.js';
import { SimulatedServoBus } from '../feetech/sim-bus.js';
import { calibrateSo101 } from './calibrate.js';
import {
  type Calibration,
  calibrationPath,
  loadCalibration,
  SO101_MOTORS,
  saveCalibration,
  ticksToUnits,
  unitsToTicks,
} from './calibration.js';
import { So101Follower } from './so101.js';

const CAL: Calibration = Object.fromEntries(
  SO101_MOTORS.map((m, i) => [
    m,
    { id: i + 1, drive_mode: 0, homing_offset: -100 + 10 * i, range_min: 1000, range_max: 3000 },
  ]),
) as Calibration;

describe('SO-101 calibration files and units', () => {
  it('saves and loads the LeRobot JSON layout under robots/<name>/<id>.json', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cal-'));
    try {
      const path = calibrationPath('my_arm', 'so101_follower', root);
      expect(path).toBe(join(root, 'robots/so101_follower/my_arm.json'));
      await saveCalibration(path, CAL);
      expect(await loadCalibration(path)).toEqual(CAL);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('rejects the legacy array format and bad ranges, naming the field', async () => {
    const { validateCalibration } = await import('./calibration.js');
    expect(() => validateCalibration({ homing_offset: [1, 2] })).toThrow(/pre-2025/);
    const bad = structuredClone(CAL);
    bad.elbow_flex.range_min = 4000;
    expect(() => validateCalibration(bad)).toThrow(/elbow_flex needs 0 ≤ range_min < range_max/);
  });

  it('converts like LeRobot: degrees around mid-range, ±100, gripper 0..100', () => {
    const c = CAL.shoulder_pan;
    expect(ticksToUnits(2000, c, 'degrees')).toBeCloseTo(0);
    expect(ticksToUnits(3000, c, 'degrees')).toBeCloseTo((1000 * 360) / 4095);
    expect(unitsToTicks(ticksToUnits(2500, c, 'degrees'), c, 'degrees')).toBeGreaterThanOrEqual(2499);
    expect(ticksToUnits(1000, c, 'range_m100_100')).toBe(-100);
    expect(ticksToUnits(3000, c, 'range_0_100')).toBe(100);
    expect(unitsToTicks(1e6, c, 'degrees')).toBe(3000);
  });
});

describe('So101Follower on a simulated bus', () => {
  it('connects (writes calibration and config), reads state, commands goals, turns torque off', async () => {
    const sim = new SimulatedServoBus();
    const robot = new So101Follower(new FeetechBus(sim, { timeoutMs: 20 }), { calibration: CAL });
    await robot.connect();
    const s1 = sim.servos.get(1);
    expect(s1?.mem[40]).toBe(1); // torque on
    expect(s1?.mem[7]).toBe(0); // Return_Delay_Time
    expect(s1?.homingOffset).toBe(-100);
    expect(sim.servos.get(6)?.get16(16)).toBe(500); // gripper torque limit
    await robot.sendAction(Float32Array.of(10, -10, 0, 5, 0), 1);
    const st = await robot.readState();
    expect(st.joints[0]).toBeCloseTo(10, 0);
    expect(st.joints[1]).toBeCloseTo(-10, 0);
    expect(st.gripper).toBeCloseTo(1); // closed → gripper at range_min
    await robot.close();
    expect(s1?.mem[40]).toBe(0);
    expect(robot.jointLimits.max[0]).toBeCloseTo((1000 * 360) / 4095);
  });

  it('a missing motor fails connect with its name', async () => {
    const sim = new SimulatedServoBus({ ids: [1, 2, 3, 4, 5] });
    const robot = new So101Follower(new FeetechBus(sim, { timeoutMs: 5, retries: 0 }), { calibration: CAL });
    await expect(robot.connect()).rejects.toThrow(/motor 'gripper' \(id 6\) does not answer/);
  });

  it('calibrate: homing to 2047 at mid pose, records swept ranges', async () => {
    const sim = new SimulatedServoBus();
    for (const s of sim.servos.values()) s.actual = 2500 + s.id;
    const bus = new FeetechBus(sim, { timeoutMs: 20 });
    let phase = 0;
    let polls = 0;
    const cal = await calibrateSo101(bus, {
      waitForUser: async () => {
        phase++;
      },
      sweepDone: () => {
        // Sweep: move every joint ±300 ticks around its mid pose over a few polls.
        const k = polls++;
        for (const s of sim.servos.values()) s.actual = 2500 + s.id + (k % 2 ? 300 : -300);
        return k > 3;
      },
    });
    expect(phase).toBe(2);
    expect(cal.shoulder_pan.homing_offset).toBe(2501 - 2047);
    expect(cal.shoulder_pan.range_min).toBe(2047 - 300);
    expect(cal.shoulder_pan.range_max).toBe(2047 + 300);
    expect([cal.wrist_roll.range_min, cal.wrist_roll.range_max]).toEqual([0, 4095]);
    expect(sim.servos.get(1)?.get16(9)).toBe(2047 - 300);
  });
});
