/**
 * Closed-loop wrapping: anchor-only and AnchorRefine run the same action selection (history, chunk queue,
 * temporal ensembling) and differ only in the chunk executed.
 */

import { SIM_JOINT_LIMITS, SIM_MAX_DELTA_PER_STEP } from '@anchor-refine/deploy/sim-eval';
import { AnchorRefinePolicy, policyConfig, TemporalEnsembler } from '@anchor-refine/policy';
import type { Observation } from '@anchor-refine/sim';
import { describe, expect, it } from 'vitest';
import { ARM_DIM, toPolicyObservation } from './data.js';
import { anchorOnlyChunk, type DelayedEvalOptions, delayedEvalFromFlags, wrapPolicy } from './sim-policy.js';

const px = 32;

/** A deterministic stream of sim-shaped observations (images and joints vary per step). */
function observations(n: number): Observation[] {
  return Array.from({ length: n }, (_, t) => {
    const img = () => ({
      data: Uint8Array.from({ length: px * px * 3 }, (_, i) => (i * 7 + t * 31) % 256),
      height: px,
      width: px,
    });
    return {
      images: { front: img(), wrist: img() },
      jointState: Float32Array.from({ length: ARM_DIM + 1 }, (_, i) => Math.sin(t + i)),
      eePose: new Float32Array(7),
      task: 'pick_cube',
    };
  });
}

const make = (refine: boolean, temporalEnsemble: number | null, actionsPerChunk = 2) =>
  new AnchorRefinePolicy(
    policyConfig('tiny', {
      seed: 3,
      backbone: { config: { stateDim: ARM_DIM, armDim: ARM_DIM } },
      refine: { enabled: refine },
      execution: { actionsPerChunk, temporalEnsemble },
    }),
  );

async function run(
  policy: AnchorRefinePolicy,
  mode: 'anchor' | 'refine',
  obs: Observation[],
  delayed?: DelayedEvalOptions,
) {
  const p = wrapPolicy(policy, mode, delayed);
  await p.reset();
  const out: number[][] = [];
  for (const o of obs) out.push(Array.from(await p.act(o)));
  return out;
}

describe('wrapPolicy', () => {
  it('without a refiner both modes execute the same actions, with a queue and with temporal ensembling', async () => {
    const obs = observations(6);
    for (const ens of [null, 0.2]) {
      const policy = make(false, ens);
      const anchor = await run(policy, 'anchor', obs);
      const refine = await run(policy, 'refine', obs);
      expect(anchor, `temporalEnsemble ${ens}`).toEqual(refine);
      // and the ensembled run differs from executing the queued chunk (the check can see ensembling)
      if (ens !== null) {
        const queued = make(false, null);
        expect(anchor).not.toEqual(await run(queued, 'anchor', obs));
        queued.dispose();
      }
      policy.dispose();
    }
  });

  it('anchor-only with temporalEnsemble ensembles the anchor chunks like AnchorRefine does its own', async () => {
    const obs = observations(5);
    const policy = make(true, 0.3);
    const got = await run(policy, 'anchor', obs);
    const ens = new TemporalEnsembler(0.3);
    const history = obs.map(toPolicyObservation);
    const want = history.map((_, t) =>
      Array.from(ens.update(anchorOnlyChunk(policy.predictActionChunk(history.slice(0, t + 1))))),
    );
    expect(got).toEqual(want);
    policy.dispose();
  });
});

describe('wrapPolicy with a schedule and an injected delay (eval --schedule --inject-delay)', () => {
  it('the synchronous queue holds the present pose while a late chunk is computed; rtc does not', async () => {
    const obs = observations(9);
    const policy = make(true, null, 2);
    const arm = (o: Observation) => Array.from(o.jointState.slice(0, ARM_DIM));
    const queue = await run(policy, 'refine', obs, { schedule: 'queue', delayMs: 300 });
    // rows 0, 1 of the first chunk at t = 0, 1; the next is asked at t = 2 and arrives at t = 5
    for (const t of [2, 3, 4]) expect(queue[t].slice(0, ARM_DIM), `step ${t}`).toEqual(arm(obs[t]));
    expect(queue[5].slice(0, ARM_DIM)).not.toEqual(arm(obs[5]));
    // rtc asks early enough that the plan never runs out (tiny's horizon 5 covers a 2-step delay)
    const rtc = await run(policy, 'refine', obs, { schedule: 'rtc', delayMs: 200 });
    for (let t = 0; t < obs.length; t++)
      expect(rtc[t].slice(0, ARM_DIM), `step ${t}`).not.toEqual(arm(obs[t]));
    // and at zero delay the queue executes without holding
    const q0 = await run(policy, 'refine', obs, { schedule: 'queue', delayMs: 0 });
    for (let t = 0; t < obs.length; t++) expect(q0[t].slice(0, ARM_DIM)).not.toEqual(arm(obs[t]));
    policy.dispose();
  });

  it('without a refiner both modes execute the same actions under rtc at 300 ms (the anchor is guided too)', async () => {
    const obs = observations(12);
    const policy = make(false, null, 2);
    const d: DelayedEvalOptions = { schedule: 'rtc', delayMs: 300 };
    expect(await run(policy, 'anchor', obs, d)).toEqual(await run(policy, 'refine', obs, d));
    policy.dispose();
  });

  it('every command passes the safety filter: the sim joint limits and the per-step limit', async () => {
    const obs = observations(12);
    const policy = make(true, null, 2);
    let clamped = 0;
    for (const schedule of ['queue', 'ensemble', 'async-blend', 'rtc'] as const) {
      const acts = await run(policy, 'refine', obs, { schedule, delayMs: 200 });
      acts.forEach((a, t) => {
        for (let j = 0; j < ARM_DIM; j++) {
          const present = obs[t].jointState[j];
          expect(a[j]).toBeGreaterThanOrEqual(SIM_JOINT_LIMITS.min[j] - 1e-6);
          expect(a[j]).toBeLessThanOrEqual(SIM_JOINT_LIMITS.max[j] + 1e-6);
          expect(Math.abs(a[j] - present), `${schedule} step ${t} joint ${j}`).toBeLessThanOrEqual(
            SIM_MAX_DELTA_PER_STEP + 1e-6,
          );
          if (Math.abs(Math.abs(a[j] - present) - SIM_MAX_DELTA_PER_STEP) < 1e-6) clamped++;
        }
      });
    }
    // the observations jump by up to 2 rad per step, so the filter had to act (the check can fail)
    expect(clamped).toBeGreaterThan(0);
    policy.dispose();
  });
});

describe('delayedEvalFromFlags (eval --schedule --inject-delay --threshold)', () => {
  it('no --schedule is the plain evaluation; a schedule defaults to zero delay', () => {
    expect(delayedEvalFromFlags({})).toBeUndefined();
    expect(delayedEvalFromFlags({ schedule: 'queue' })).toEqual({ schedule: 'queue', delayMs: 0 });
    expect(delayedEvalFromFlags({ schedule: 'rtc', injectDelay: 300, threshold: 0.7 })).toEqual({
      schedule: 'rtc',
      delayMs: 300,
      threshold: 0.7,
    });
  });

  it('bad flags fail naming the flag', () => {
    expect(() => delayedEvalFromFlags({ injectDelay: 100 })).toThrow(/--inject-delay.*need --schedule/);
    expect(() => delayedEvalFromFlags({ schedule: 'fast' })).toThrow(/--schedule must be one of queue/);
    expect(() => delayedEvalFromFlags({ schedule: 'rtc', injectDelay: -5 })).toThrow(/--inject-delay/);
    expect(() => delayedEvalFromFlags({ schedule: 'rtc', threshold: 1.5 })).toThrow(/--threshold/);
  });
});
