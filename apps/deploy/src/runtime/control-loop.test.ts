import type { ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';
import { describe, expect, it } from 'vitest';
import type { PolicyInfo } from '../policy/protocol.js';
import type { Robot, RobotImage, RobotState } from '../robot/robot.js';
import { type ChunkSource, ControlLoop } from './control-loop.js';
import { applySafety } from './safety.js';
import { EnsembleSchedule, QueueSchedule } from './schedule.js';

const INFO: PolicyInfo = {
  cameras: ['front', 'wrist'],
  imageSize: 8,
  stateDim: 2,
  armDim: 2,
  horizon: 4,
  history: 2,
  actionsPerChunk: 2,
  temporalEnsemble: null,
  source: 'fake',
};

function chunkOf(value: number, horizon = 4, armDim = 2): ChunkPrediction {
  return {
    arm: new Float32Array(horizon * armDim).fill(value),
    gripper: new Uint8Array(horizon).fill(1),
    gripperProb: new Float32Array(horizon).fill(0.9),
    horizon,
    armDim,
  };
}

class FakeRobot implements Robot {
  readonly name = 'fake';
  readonly armDim = 2;
  readonly jointLimits = { min: Float32Array.of(-1, -1), max: Float32Array.of(1, 1) };
  readonly cameras = ['a', 'b'];
  joints = Float32Array.of(0.1, -0.1);
  commands: Array<{ joints: number[]; gripper: number }> = [];
  torque = true;
  failAt = -1;
  async readState(): Promise<RobotState> {
    return { joints: this.joints.slice(), gripper: 0 };
  }
  async readImages(): Promise<Record<string, RobotImage>> {
    const img = { data: new Uint8Array(16 * 16 * 3), height: 16, width: 16 };
    return { a: img, b: img };
  }
  async sendAction(joints: Float32Array, gripper: number): Promise<void> {
    if (this.commands.length === this.failAt) throw new Error('bus failure');
    this.commands.push({ joints: Array.from(joints), gripper });
    this.joints = joints.slice();
  }
  async disableTorque(): Promise<void> {
    this.torque = false;
  }
  async close(): Promise<void> {}
}

/** Answers the first `answer` requests at once, then never (a stalled model). */
class FakeSource implements ChunkSource {
  readonly info = INFO;
  calls = 0;
  seen: PolicyObservation[][] = [];
  constructor(
    private readonly answer: number,
    private readonly value = 0.5,
  ) {}
  infer(obs: PolicyObservation[]) {
    this.calls++;
    this.seen.push(obs);
    if (this.calls > this.answer) return new Promise<never>(() => {});
    return Promise.resolve({ chunk: chunkOf(this.value), inferMs: 1 });
  }
}

const base = { rateHz: 100, prefetch: 1, maxDeltaPerStep: 10, task: 'test' };

describe('ControlLoop', () => {
  it('executes chunk actions, then the watchdog holds position when the model stalls; torque off at the end', async () => {
    const robot = new FakeRobot();
    const source = new FakeSource(1);
    const stats = await new ControlLoop(robot, source, { ...base, maxSteps: 6 }).run();
    expect(stats.steps).toBe(6);
    // Steps 0–1 come from the chunk (0.5); the next request stalls, so steps 2–5 hold the present pose.
    expect(robot.commands[0].joints).toEqual([0.5, 0.5]);
    expect(robot.commands[1].joints).toEqual([0.5, 0.5]);
    expect(robot.commands[1].gripper).toBe(1);
    for (const c of robot.commands.slice(2)) expect(c.joints).toEqual([0.5, 0.5]);
    expect(stats.watchdogHolds).toBe(4);
    expect(robot.torque).toBe(false);
    // Images reach the policy at its size; history is capped at `history` frames.
    const last = source.seen[source.seen.length - 1];
    expect(last.length).toBe(2);
    expect(last[0].images.front.width).toBe(8);
  });

  it('holds (not moves) when the very next action is missing, even after a large planned move', async () => {
    const robot = new FakeRobot();
    robot.joints = Float32Array.of(0, 0);
    const stats = await new ControlLoop(robot, new FakeSource(1, 0.9), {
      ...base,
      maxSteps: 4,
      maxDeltaPerStep: 0.2,
    }).run();
    // Safety limits each step to 0.2 from the present pose; then the watchdog holds the reached pose.
    expect(robot.commands[0].joints[0]).toBeCloseTo(0.2);
    expect(robot.commands[1].joints[0]).toBeCloseTo(0.4);
    expect(robot.commands[2].joints[0]).toBeCloseTo(0.4);
    expect(robot.commands[3].joints[0]).toBeCloseTo(0.4);
    expect(stats.clamped).toBe(2);
    expect(stats.watchdogHolds).toBe(2);
  });

  it('turns torque off when the robot fails mid-run', async () => {
    const robot = new FakeRobot();
    robot.failAt = 2;
    await expect(
      new ControlLoop(robot, new FakeSource(100), { ...base, maxSteps: 10 }).run(),
    ).rejects.toThrow(/bus failure/);
    expect(robot.torque).toBe(false);
  });

  it('rejects a policy whose arm does not fit the robot', () => {
    const src = new FakeSource(1);
    (src as { info: PolicyInfo }).info = { ...INFO, armDim: 5 };
    expect(() => new ControlLoop(new FakeRobot(), src, base)).toThrow(/outputs 5 arm joints/);
  });
});

describe('schedules and safety', () => {
  it('queue skips the steps that passed while the model ran', () => {
    const q = new QueueSchedule(3, 1);
    const c = chunkOf(0);
    c.arm.set([0, 0, 1, 1, 2, 2, 3, 3]);
    q.add(5, c);
    expect(q.actionAt(4)).toBeUndefined();
    expect(Array.from(q.actionAt(6)?.joints ?? [])).toEqual([1, 1]);
    expect(q.wantsChunk(6)).toBe(false);
    expect(q.wantsChunk(7)).toBe(true);
    expect(q.actionAt(8)).toBeUndefined();
  });

  it('ensembles overlapping chunks with exp(−k·i) weights (oldest first)', () => {
    const e = new EnsembleSchedule(Math.log(2)); // weights 1, 0.5
    e.add(0, chunkOf(0));
    e.add(1, chunkOf(3));
    expect(e.actionAt(1)?.joints[0]).toBeCloseTo((0 * 1 + 3 * 0.5) / 1.5);
    expect(e.actionAt(4)?.joints[0]).toBeCloseTo(3); // the first chunk (horizon 4) has expired
  });

  it('clamps to joint limits and the per-step change; NaN holds the joint', () => {
    const r = applySafety(Float32Array.of(5, -0.05, Number.NaN), 2, Float32Array.of(0.9, 0, 0.3), {
      min: Float32Array.of(-1, -1, -1),
      max: Float32Array.of(1, 1, 1),
      maxDeltaPerStep: 0.5,
    });
    expect(Array.from(r.joints)).toEqual([1, expect.closeTo(-0.05, 6), expect.closeTo(0.3, 6)]);
    expect(r.gripper).toBe(1);
    expect(r.clamped).toBe(true);
  });
});
