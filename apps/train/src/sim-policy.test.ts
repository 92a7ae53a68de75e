/**
 * Closed-loop wrapping: anchor-only and AnchorRefine run the same action selection (history, chunk queue,
 * temporal ensembling) and differ only in the chunk executed.
 */
import { AnchorRefinePolicy, policyConfig, TemporalEnsembler } from '@anchor-refine/policy';
import type { Observation } from '@anchor-refine/sim';
import { describe, expect, it } from 'vitest';
import { ARM_DIM, toPolicyObservation } from './data.js';
import { anchorOnlyChunk, wrapPolicy } from './sim-policy.js';

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

async function run(policy: AnchorRefinePolicy, mode: 'anchor' | 'refine', obs: Observation[]) {
  const p = wrapPolicy(policy, mode);
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
