/**
 * DART-style execution noise: the recorded action is the expert's own, the executed one carries a slow
 * AR(1) disturbance of the requested stationary std on the arm joints only, deterministic per seed.
 */
import { describe, expect, it } from 'vitest';
import { makeEnv } from '../env/env.js';
import { EXECUTION_NOISE_RHO, ExpertController, runExpert } from './run.js';

describe('expert executionNoise', () => {
  it('records the clean action, executes a disturbed one, and drives the arm off the clean path', async () => {
    const env = await makeEnv('pick_cube', { render: false, actionSpace: 'joint' });
    try {
      const clean: Float32Array[] = [];
      const cleanStates: Float32Array[] = [];
      runExpert(env, 5, {
        onStep: (o, a) => {
          clean.push(a.slice());
          cleanStates.push(o.jointState.slice());
        },
      });
      const noisy: Float32Array[] = [];
      const noisyStates: Float32Array[] = [];
      runExpert(env, 5, {
        executionNoise: 0.05,
        onStep: (o, a) => {
          noisy.push(a.slice());
          noisyStates.push(o.jointState.slice());
        },
      });
      // the expert's first action is the same (the plan does not see the noise); the states then differ
      expect(Array.from(noisy[0])).toEqual(Array.from(clean[0]));
      const dev = Math.max(...noisyStates.slice(1, 10).map((s, t) => Math.abs(s[0] - cleanStates[t + 1][0])));
      expect(dev).toBeGreaterThan(0.01);
    } finally {
      env.close();
    }
  });

  it('the disturbance is AR(1) with the requested stationary std, on the arm joints only, and 0 is exact', async () => {
    const env = await makeEnv('push_pen', { render: false, actionSpace: 'joint' });
    try {
      env.reset(7);
      const none = new ExpertController(env, { aimNoise: 0, actionNoise: 0, executionNoise: 0 });
      const a = none.act();
      expect(none.executed(a)).toBe(a);
      const sd = 0.1;
      const ex = new ExpertController(env, { aimNoise: 0, actionNoise: 0, executionNoise: sd });
      const base = new Float32Array(6);
      const offsets: number[][] = [];
      for (let t = 0; t < 4000; t++) offsets.push(Array.from(ex.executed(base)));
      for (const o of offsets) expect(o[5]).toBe(0); // the gripper is not disturbed
      for (let k = 0; k < 5; k++) {
        const x = offsets.map((o) => o[k]);
        const mean = x.reduce((s, v) => s + v, 0) / x.length;
        const v = x.reduce((s, y) => s + (y - mean) ** 2, 0) / x.length;
        let c = 0;
        for (let t = 1; t < x.length; t++) c += (x[t] - mean) * (x[t - 1] - mean);
        c /= (x.length - 1) * v;
        // 4000 correlated samples (effective n ≈ 4000·(1−ρ)/(1+ρ) ≈ 440): std within 15 %, lag-1 within 0.05
        expect(Math.sqrt(v)).toBeGreaterThan(0.85 * sd);
        expect(Math.sqrt(v)).toBeLessThan(1.15 * sd);
        expect(Math.abs(c - EXECUTION_NOISE_RHO)).toBeLessThan(0.05);
      }
      // deterministic per (task, seed)
      const again = new ExpertController(env, { aimNoise: 0, actionNoise: 0, executionNoise: sd });
      expect(Array.from(again.executed(base))).toEqual(offsets[0]);
      expect(() => new ExpertController(env, { aimNoise: 0, actionNoise: 0, executionNoise: -1 })).toThrow(
        /executionNoise/,
      );
    } finally {
      env.close();
    }
  });

  it('executionNoiseSteps: the disturbance stops after the window and halves every step after it', async () => {
    const env = await makeEnv('push_pen', { render: false, actionSpace: 'joint' });
    try {
      env.reset(3);
      const ex = new ExpertController(env, {
        aimNoise: 0,
        actionNoise: 0,
        executionNoise: 0.1,
        executionNoiseSteps: 4,
      });
      const base = new Float32Array(6);
      const o = Array.from({ length: 12 }, () => Array.from(ex.executed(base)));
      // steps 0..3 carry the AR(1) offset; from step 4 on it halves each step
      for (let t = 4; t < 12; t++)
        for (let k = 0; k < 5; k++) expect(o[t][k]).toBeCloseTo(0.5 * o[t - 1][k], 6);
      expect(Math.max(...o[3].slice(0, 5).map(Math.abs))).toBeGreaterThan(1e-3);
      expect(Math.max(...o[11].slice(0, 5).map(Math.abs))).toBeLessThan(0.01);
      expect(
        () => new ExpertController(env, { aimNoise: 0, actionNoise: 0, executionNoiseSteps: 1.5 }),
      ).toThrow(/executionNoiseSteps/);
    } finally {
      env.close();
    }
  });
});
