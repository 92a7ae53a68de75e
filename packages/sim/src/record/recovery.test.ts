/**
 * Recovery demos (`RecordConfig.lead`): a policy drives the start of each episode off the expert's path,
 * the scripted expert takes over from that state (`takeOverWithExpert`), and only the expert's part is
 * recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '@anchor-refine/datasets';
import { describe, expect, it } from 'vitest';
import { makeEnv } from '../env/env.js';
import type { Observation } from '../env/types.js';
import type { ClosedLoopPolicy } from '../eval/policy.js';
import { runExpert, takeOverWithExpert } from '../expert/run.js';
import { leadSteps, recordExpertDataset } from './recorder.js';

/** Turns the base joint by `rate` rad per step from where it is, gripper open: off every expert path. */
const drifter = (rate: number): ClosedLoopPolicy => ({
  reset: () => {},
  act: (obs: Observation) => {
    const a = Float32Array.from([...obs.jointState.subarray(0, 5), 0]);
    a[0] += rate;
    return a;
  },
});
/** Wants to close the gripper at once. */
const closer: ClosedLoopPolicy = {
  reset: () => {},
  act: (obs: Observation) => Float32Array.from([...obs.jointState.subarray(0, 5), 1]),
};

describe('recovery demos', () => {
  it('leadSteps is 1..max and fixed per task and seed', () => {
    const ks = Array.from({ length: 200 }, (_, s) => leadSteps('pick_cube', s, 10));
    expect(Math.min(...ks)).toBe(1);
    expect(Math.max(...ks)).toBe(10);
    expect(leadSteps('pick_cube', 7, 10)).toBe(ks[7]);
    expect(new Set(ks.slice(0, 20).map((k, s) => k === leadSteps('stack_blocks', s, 10))).size).toBe(2);
  });

  it('the expert takes over from a state the leader drove off its path and still solves the task', async () => {
    const env = await makeEnv('pick_cube', { render: false, actionSpace: 'joint' });
    try {
      const plain = runExpert(env, 3);
      expect(plain.success).toBe(true);
      let obs = env.reset(3);
      const start = obs.jointState[0];
      for (let k = 0; k < 6; k++) obs = env.step(drifter(0.06).act(obs) as Float32Array).observation;
      expect(Math.abs(obs.jointState[0] - start)).toBeGreaterThan(0.2);
      const r = takeOverWithExpert(env, obs);
      expect(r.success).toBe(true);
      expect(r.steps).toBeGreaterThan(6);
    } finally {
      env.close();
    }
  });

  it('records only the expert part, starting at the state the leader left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-rec-lead-'));
    try {
      const env = { imageWidth: 32, imageHeight: 32 };
      await recordExpertDataset({
        root: join(dir, 'plain'),
        tasks: ['pick_cube'],
        episodesPerTask: 2,
        env,
      });
      const led = await recordExpertDataset({
        root: join(dir, 'led'),
        tasks: ['pick_cube'],
        episodesPerTask: 2,
        env,
        lead: { policy: () => drifter(0.05), maxSteps: 8 },
      });
      const held = await recordExpertDataset({
        root: join(dir, 'closer'),
        tasks: ['pick_cube'],
        episodesPerTask: 2,
        env,
        lead: { policy: () => closer, maxSteps: 8 },
      });
      const [p, l, c] = await Promise.all(['plain', 'led', 'closer'].map((n) => openDataset(join(dir, n))));
      expect(led.episodes).toBe(2);
      // A leader that would close at once hands over before any step: the episodes start at the reset
      // state, as the plain demos do.
      const s0 = (ds: typeof p, i: number) => Array.from(ds.value('observation.state', i) as Float32Array);
      expect(s0(c, 0)).toEqual(s0(p, 0));
      expect(held.frames).toBeGreaterThan(0);
      // The drifted episodes start where the leader left the base joint (seed 0: leadSteps of it).
      const k = leadSteps('pick_cube', 0, 8);
      expect(Math.abs(s0(l, 0)[0] - s0(p, 0)[0])).toBeGreaterThan(0.02 * k);
      // Every recorded action is the expert's: none is a drift step (base + 0.05 from the observed state).
      for (let i = 0; i < Math.min(5, l.numFrames); i++) {
        const a = l.value('action', i) as Float32Array;
        const s = l.value('observation.state', i) as Float32Array;
        expect(Math.abs(a[0] - (s[0] + 0.05))).toBeGreaterThan(1e-4);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
