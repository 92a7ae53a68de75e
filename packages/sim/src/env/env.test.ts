import { describe, expect, it } from 'vitest';
import { runExpert } from '../expert/run.js';
import { liveHandles } from '../mujoco/adapter.js';
import { type Env, makeEnv } from './env.js';
import type { TaskId } from './types.js';

function rollout(env: Env, seed: number) {
  const states: Float64Array[] = [];
  const frames: Uint8Array[] = [];
  runExpert(env, seed, {
    onStep: (obs) => {
      states.push(env.physicsState());
      frames.push(obs.images.front.data, obs.images.wrist.data);
    },
  });
  return { states, frames };
}

describe('Env', () => {
  it('observations follow the documented contract', async () => {
    const env = await makeEnv('pick_cube', { imageWidth: 64, imageHeight: 48 });
    try {
      const obs = env.reset(0);
      expect(obs.images.front.width).toBe(64);
      expect(obs.images.front.height).toBe(48);
      expect(obs.images.front.data.length).toBe(64 * 48 * 3);
      expect(obs.images.wrist.data.length).toBe(64 * 48 * 3);
      expect(obs.jointState).toBeInstanceOf(Float32Array);
      expect(obs.jointState.length).toBe(6);
      expect(obs.jointState[5]).toBeCloseTo(0, 3); // gripper starts open
      expect(obs.eePose.length).toBe(7);
      const q = obs.eePose.subarray(3);
      expect(Math.hypot(...q)).toBeCloseTo(1, 5);
      expect(obs.task).toBe('pick up the cube and place it into the box');
      // The image is not blank: the table, the arm and objects give many distinct colours.
      expect(
        new Set(Array.from({ length: 64 * 48 }, (_, i) => obs.images.front.data[3 * i])).size,
      ).toBeGreaterThan(10);
    } finally {
      env.close();
    }
  });

  it('is deterministic: same seed → identical physics states and frames (same env and a fresh env)', async () => {
    const a = await makeEnv('stack_blocks', {
      maxSteps: 30,
      randomize: { colors: true, light: true, cameraPosition: 0.01, cameraAngle: 0.02 },
    });
    const b = await makeEnv('stack_blocks', {
      maxSteps: 30,
      randomize: { colors: true, light: true, cameraPosition: 0.01, cameraAngle: 0.02 },
    });
    try {
      const r1 = rollout(a, 7);
      rollout(a, 8); // an unrelated episode in between must not leak into the next
      const r2 = rollout(a, 7);
      const r3 = rollout(b, 7);
      expect(r1.states.length).toBe(30);
      expect(r2.states).toEqual(r1.states);
      expect(r3.states).toEqual(r1.states);
      expect(r2.frames).toEqual(r1.frames);
      expect(r3.frames).toEqual(r1.frames);
      const other = rollout(b, 9);
      expect(other.states[0]).not.toEqual(r1.states[0]);
    } finally {
      a.close();
      b.close();
    }
  });

  it('rejects bad input with errors naming the field', async () => {
    await expect(makeEnv('pick_block' as TaskId)).rejects.toThrow(/unknown task id "pick_block"/);
    await expect(makeEnv('pick_cube', { imageWidth: 0 })).rejects.toThrow(/imageWidth/);
    await expect(makeEnv('pick_cube', { actionSpace: 'torque' as 'joint' })).rejects.toThrow(/actionSpace/);
    const env = await makeEnv('pick_cube', { render: false });
    try {
      expect(() => env.step(new Float32Array(6))).toThrow(/before reset/);
      env.reset(0);
      expect(() => env.step(new Float32Array(5))).toThrow(/length 5.*needs 6/);
      expect(() => env.step(Float32Array.from([0, 0, Number.NaN, 0, 0, 0]))).toThrow(/action\[2\] is NaN/);
      expect(() => env.reset(1.5)).toThrow(/seed/);
    } finally {
      env.close();
    }
  });

  it('end-effector action spaces drive the same expert to success', async () => {
    for (const actionSpace of ['ee_absolute', 'ee_delta'] as const) {
      const env = await makeEnv('pick_cube', { render: false, actionSpace });
      try {
        expect(env.actionDim).toBe(7);
        expect(runExpert(env, 3).success, actionSpace).toBe(true);
      } finally {
        env.close();
      }
    }
  });

  it('frees every WASM handle on close (no leaked MjData)', async () => {
    const before = liveHandles();
    const cycle = async (i: number) => {
      const env = await makeEnv('open_drawer', { render: false });
      env.reset(i);
      env.step(new Float32Array([0, 0, 0.5, 1.2, 0, 0]));
      const heap = env.heapBytes();
      env.close();
      return heap;
    };
    for (let i = 0; i < 3; i++) await cycle(i);
    const heapAfterWarmup = await cycle(3);
    // Each leaked Env would keep two MjData arenas (≈8 MB): 40 cycles would grow the heap by ≈320 MB.
    let heap = 0;
    for (let i = 0; i < 40; i++) heap = await cycle(i);
    expect(liveHandles()).toBe(before);
    expect(heap - heapAfterWarmup).toBeLessThan(16 * 2 ** 20);
  });
});
