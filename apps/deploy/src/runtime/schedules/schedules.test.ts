import {
  type ActionChunk,
  applyGuide,
  type ChunkGuide,
  type ChunkPrediction,
  type PolicyObservation,
} from '@anchor-refine/policy';
import type { Env, Observation, StepResult } from '@anchor-refine/sim';
import { describe, expect, it } from 'vitest';
import type { PolicyInfo } from '../../policy/protocol.js';
import type { Robot, RobotState } from '../../robot/robot.js';
import { type ChunkSource, ControlLoop } from '../control-loop.js';
import { delaySteps, maxVelocityJump, runDelayedEpisode, velocityJumpAt } from '../delayed-episode.js';
import { AsyncBlendSchedule } from './async-blend.js';
import { DelayPlanner } from './delay-planner.js';
import { SCHEDULES, type ScheduleName } from './index.js';
import { RtcSchedule } from './rtc.js';

const H = 6;
const D = 2;

/** A chunk whose row k is `f(k)` in every joint; gripper prob 0.9 (closed). */
function chunk(f: (k: number) => number, horizon = H): ActionChunk {
  const arm = new Float32Array(horizon * D);
  for (let k = 0; k < horizon; k++) arm.fill(f(k), k * D, (k + 1) * D);
  return {
    arm,
    gripper: new Uint8Array(horizon).fill(1),
    gripperProb: new Float32Array(horizon).fill(0.9),
    anchorArm: arm.slice(),
    anchorGripperProb: new Float32Array(horizon),
    delta: new Float32Array(horizon * D),
    gripperDelta: new Float32Array(horizon),
    horizon,
    armDim: D,
  };
}

describe('DelayPlanner', () => {
  it('plans ⌈p95 / period⌉ steps over the window (nearest-rank p95)', () => {
    const p = new DelayPlanner(100, 20, 1);
    expect(p.steps()).toBe(1); // nothing measured yet
    for (let i = 1; i <= 20; i++) p.record(i * 10); // 10 … 200 ms
    expect(p.p95Ms()).toBe(190); // rank ⌈0.95·20⌉ = 19
    expect(p.steps()).toBe(2);
    p.record(300); // the window drops 10 ms; p95 = rank 19 of [20 … 200, 300] = 200
    expect(p.p95Ms()).toBe(200);
    expect(p.steps()).toBe(2);
    expect(delaySteps(300, 10)).toBe(3);
    expect(delaySteps(301, 10)).toBe(4);
    expect(() => p.record(-1)).toThrow(/latency/);
  });
});

describe('AsyncBlendSchedule', () => {
  it('merges the overlap new·w + old·(1 − w) and asks when the queue falls to the threshold', () => {
    const s = new AsyncBlendSchedule(4, 0.5, 0.7);
    s.add(
      0,
      chunk(() => 1, 4),
    ); // steps 0–3
    expect(s.actionAt(0)?.joints[0]).toBe(1);
    expect(s.wantsChunk(1)).toBe(false); // 3 queued > 2
    expect(s.actionAt(1)?.joints[0]).toBe(1);
    expect(s.wantsChunk(2)).toBe(true); // 2 queued ≤ 0.5·4
    s.add(
      1,
      chunk(() => 3, 4),
    ); // steps 1–4; step 1 already ran
    expect(s.actionAt(2)?.joints[0]).toBeCloseTo(0.7 * 3 + 0.3 * 1, 6);
    expect(s.actionAt(3)?.joints[0]).toBeCloseTo(0.7 * 3 + 0.3 * 1, 6);
    expect(s.actionAt(4)?.joints[0]).toBe(3);
    expect(s.actionAt(5)).toBeUndefined();
  });
});

describe('RtcSchedule', () => {
  it('asks so that threshold · H is left when the chunk arrives, and sends the rest of the plan', () => {
    let d = 0;
    const s = new RtcSchedule({ threshold: 0.5, delaySteps: () => d });
    expect(s.wantsChunk(0)).toBe(true);
    s.add(
      0,
      chunk((k) => k),
    );
    expect(s.wantsChunk(2)).toBe(false); // 4 left, 4 at arrival > 3
    expect(s.wantsChunk(3)).toBe(true); // 3 left ≤ 0.5·6
    d = 1;
    expect(s.wantsChunk(2)).toBe(true); // 4 left, 3 at arrival
    expect(s.wantsChunk(1)).toBe(false); // 5 left, 4 at arrival
    d = 4;
    expect(s.wantsChunk(0)).toBe(true); // 6 left, 2 at arrival ≤ 3
    const late = new RtcSchedule({ threshold: 0.1, delaySteps: () => 2 });
    late.add(
      0,
      chunk((k) => k),
    );
    expect(late.wantsChunk(2)).toBe(false); // 4 left: the answer would land with 2 left
    expect(late.wantsChunk(3)).toBe(true); // 0.1·6 < 1: still asks d + 1 ahead, never lets the plan run out
    d = 2;
    const g = s.guideFor(3);
    expect(g?.delay).toBe(2);
    expect(Array.from(g?.arm ?? [])).toEqual([3, 3, 4, 4, 5, 5]);
    expect(g?.gripper.length).toBe(3);
    s.add(
      3,
      chunk((k) => 10 + k),
    );
    expect(s.actionAt(5)?.joints[0]).toBe(12);
    s.add(
      2,
      chunk(() => 99),
    ); // a late answer to an older request does not replace the plan
    expect(s.actionAt(5)?.joints[0]).toBe(12);
    expect(s.actionAt(9)).toBeUndefined(); // past the horizon: the watchdog holds
  });
});

/** A one-dimensional world: the arm is wherever it was commanded; `maxSteps` steps, never a success. */
function fakeEnv(maxSteps: number): Env {
  let step = 0;
  const state = new Float32Array(D + 1);
  const obs = (): Observation => ({
    images: {
      front: { data: new Uint8Array(3), height: 1, width: 1 },
      wrist: { data: new Uint8Array(3), height: 1, width: 1 },
    },
    jointState: state.slice(),
    eePose: new Float32Array(7),
    task: 'fake',
  });
  const env = {
    reset: () => {
      step = 0;
      state.fill(0);
      return obs();
    },
    step: (a: ArrayLike<number>): StepResult => {
      for (let j = 0; j <= D; j++) state[j] = a[j];
      step++;
      return { observation: obs(), success: false, done: step >= maxSteps, step };
    },
  };
  return env as unknown as Env;
}

const toObs = (o: Observation): PolicyObservation => ({
  images: {},
  state: Array.from(o.jointState.subarray(0, D)),
  gripperState: 0,
  task: o.task,
});

const SAFE = { min: Float32Array.of(-1, -1), max: Float32Array.of(1, 1), maxDeltaPerStep: 0.2 };

function episode(
  schedule: ScheduleName,
  delayMs: number,
  predict: (h: readonly PolicyObservation[], g?: ChunkGuide) => ChunkPrediction,
  steps = 40,
  commands: number[][] = [],
) {
  const env = fakeEnv(steps);
  const step = env.step.bind(env);
  env.step = (a) => {
    commands.push(Array.from(a).slice(0, D));
    return step(a);
  };
  const r = runDelayedEpisode(env, predict, 0, {
    schedule,
    delayMs,
    rateHz: 10,
    history: 1,
    armDim: D,
    toObservation: toObs,
    safety: SAFE,
    settings: { horizon: H, actionsPerChunk: 4, ensembleK: 0.01, threshold: 0.5 },
  });
  return { r, commands };
}

describe('runDelayedEpisode (virtual clock)', () => {
  // A slow ramp from the present pose; regression-style RTC (the frozen prefix copied, overlap blended).
  const ramp = (h: readonly PolicyObservation[], g?: ChunkGuide) => {
    const x = Number(h[h.length - 1].state[0]);
    const c = chunk((k) => x + 0.01 * k); // stays inside the ±1 limits over 40 steps
    return g ? applyGuide(c, g, { blendArm: true }) : c;
  };

  it('at 300 ms the synchronous queue holds 3 steps per chunk; async-blend and rtc never hold', () => {
    const q = episode('queue', 300, ramp).r;
    // chunks of 4 executed actions + 3 held steps: 40 steps = 1 + 39 → 5 waits after the first chunk
    expect(q.holds).toBe(3 * Math.floor((40 - 4) / 7) + Math.min(3, (40 - 4) % 7));
    for (const s of ['async-blend', 'rtc'] as const) expect(episode(s, 300, ramp).r.holds, s).toBe(0);
    expect(episode('queue', 0, ramp).r.holds).toBe(0);
  });

  it('rtc: what the request froze is what the robot executed while the model thought', () => {
    const commands: number[][] = [];
    const requests: Array<{ guide: ChunkGuide; t: number }> = [];
    episode(
      'rtc',
      300,
      (h, g) => {
        if (g) requests.push({ guide: g, t: commands.length }); // the request of step t comes before its command
        return ramp(h, g);
      },
      40,
      commands,
    );
    expect(requests.length).toBeGreaterThan(3);
    for (const { guide, t } of requests) {
      expect(guide.delay).toBe(3);
      for (let k = 0; k < guide.delay && t + k < commands.length; k++)
        expect(commands[t + k], `request at ${t}, step +${k}`).toEqual(
          Array.from(guide.arm.subarray(k * D, (k + 1) * D)),
        );
    }
  });

  it('the boundary jump is the velocity change at a chunk switch', () => {
    const c = [Float32Array.of(0), Float32Array.of(0.1), Float32Array.of(0.2), Float32Array.of(0.2)];
    expect(maxVelocityJump(c, 10)).toBeCloseTo(1, 6); // v = 1, 1, 0 rad/s
    expect(velocityJumpAt(c, 10, [2])).toBeCloseTo(0, 6); // v_2 = v_1: no jump at step 2
    expect(velocityJumpAt(c, 10, [0, 1, 3])).toBeCloseTo(1, 6); // steps < 2 have no v_{t−1}
  });
});

describe('no schedule emits an action outside the safety limits', () => {
  // Wild chunks: values in ±3 with NaNs, jumps far beyond maxDeltaPerStep.
  let seed = 1;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const wild = (): ActionChunk => {
    const c = chunk(() => 0);
    for (let i = 0; i < c.arm.length; i++) c.arm[i] = rand() < 0.1 ? Number.NaN : 6 * rand() - 3;
    for (let k = 0; k < H; k++) c.gripperProb[k] = rand() * 3 - 1;
    return c;
  };
  const check = (cmds: number[][], present: number[][]) => {
    for (const [t, c] of cmds.entries())
      for (const [j, v] of c.entries()) {
        expect(v).toBeGreaterThanOrEqual(SAFE.min[j]);
        expect(v).toBeLessThanOrEqual(SAFE.max[j]);
        expect(Math.abs(v - present[t][j])).toBeLessThanOrEqual(SAFE.maxDeltaPerStep + 1e-6);
      }
    expect(cmds.length).toBeGreaterThan(20);
  };

  for (const s of SCHEDULES)
    it(`${s}: virtual clock, 0 and 300 ms`, () => {
      for (const delay of [0, 300]) {
        const { commands } = episode(
          s,
          delay,
          (_h, g) => (g ? applyGuide(wild(), g, { blendArm: true }) : wild()),
          30,
        );
        const present = [[0, 0], ...commands.slice(0, -1)];
        check(commands, present);
      }
    });

  for (const s of SCHEDULES)
    it(`${s}: the real-time control loop with a slow model`, async () => {
      const info: PolicyInfo = {
        cameras: ['front'],
        imageSize: 4,
        stateDim: D,
        armDim: D,
        horizon: H,
        history: 1,
        actionsPerChunk: 4,
        temporalEnsemble: null,
        source: 'fake',
      };
      const source: ChunkSource = {
        info,
        infer: async (_o, g) => ({
          chunk: g ? applyGuide(wild(), g, { blendArm: true }) : wild(),
          inferMs: 0,
        }),
      };
      const present: number[][] = [];
      const cmds: number[][] = [];
      let joints = Float32Array.of(0.9, -0.9);
      const robot: Robot = {
        name: 'fake',
        armDim: D,
        jointLimits: { min: SAFE.min, max: SAFE.max },
        cameras: ['a'],
        readState: async (): Promise<RobotState> => ({ joints: joints.slice(), gripper: 0 }),
        readImages: async () => ({ a: { data: new Uint8Array(48), height: 4, width: 4 } }),
        sendAction: async (j) => {
          present.push(Array.from(joints));
          cmds.push(Array.from(j));
          joints = j.slice();
        },
        disableTorque: async () => {},
        close: async () => {},
      };
      const stats = await new ControlLoop(robot, source, {
        rateHz: 200,
        prefetch: 1,
        maxDeltaPerStep: SAFE.maxDeltaPerStep,
        task: 't',
        maxSteps: 25,
        schedule: s,
        injectDelayMs: 12,
      }).run();
      expect(stats.schedule).toBe(s);
      expect(stats.latencyP95Ms).toBeGreaterThanOrEqual(12);
      expect(stats.plannedDelaySteps).toBeGreaterThanOrEqual(3);
      check(cmds, present);
    });
});
