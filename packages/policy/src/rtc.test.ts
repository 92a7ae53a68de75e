import { describe, expect, it } from 'vitest';
import type { ActionChunk } from './chunk.js';
import { policyConfig } from './config.js';
import { AnchorRefinePolicy } from './policy.js';
import { applyGuide, type ChunkGuide, softPrefixMask, validateGuide } from './rtc.js';
import { SyntheticReachTask } from './synthetic.js';
import { xvlaPolicyConfig } from './xvla/config.js';
import { XvlaAnchorRefinePolicy } from './xvla/policy.js';

const task = new SyntheticReachTask({ episodes: 2, imageSize: 32, seed: 3 });

/** A plan of `p` steps: the chunk's own arm rows shifted by `offset` (so guidance has work to do). */
function planFrom(c: ActionChunk, p: number, delay: number, offset: number): ChunkGuide {
  return {
    arm: Float32Array.from(c.arm.subarray(0, p * c.armDim), (x) => x + offset),
    gripper: Uint8Array.from({ length: p }, (_, i) => (c.gripper[i] ? 0 : 1)),
    gripperProb: Float32Array.from({ length: p }, (_, i) => 1 - c.gripperProb[i]),
    delay,
  };
}

const rowDist = (a: Float32Array, b: Float32Array, row: number, d: number) => {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[row * d + j] - b[row * d + j]) ** 2;
  return Math.sqrt(s);
};

describe('RTC soft mask and blend (hand-computed)', () => {
  it('W = 1 on the prefix, c·(e^c − 1)/(e − 1) with c = (P − i)/(P − d + 1) over the overlap, 0 after', () => {
    // H = 6, P = 5, d = 2: c = 3/4, 2/4, 1/4
    const w = softPrefixMask(6, 5, 2);
    const e = (c: number) => (c * (Math.exp(c) - 1)) / (Math.E - 1);
    expect(Array.from(w)).toEqual([1, 1, Math.fround(e(0.75)), Math.fround(e(0.5)), Math.fround(e(0.25)), 0]);
    expect(w[2]).toBeCloseTo(0.48755, 4); // 0.75 · 1.117000 / 1.718282
    expect(w[4]).toBeCloseTo(0.041325, 5);
    expect(Array.from(softPrefixMask(3, 0, 0))).toEqual([0, 0, 0]);
    expect(Array.from(softPrefixMask(3, 2, 2))).toEqual([1, 1, 0]);
    expect(() => softPrefixMask(3, 2, 3)).toThrow(/delay/);
  });

  it('applyGuide copies the frozen rows, blends the overlap (arm for regression, gripper probability always)', () => {
    const chunk: ActionChunk = {
      arm: Float32Array.of(0, 0, 0, 0, 0, 0),
      gripper: Uint8Array.of(0, 0, 0),
      gripperProb: Float32Array.of(0.1, 0.1, 0.1),
      anchorArm: new Float32Array(6),
      anchorGripperProb: new Float32Array(3),
      delta: new Float32Array(6),
      gripperDelta: new Float32Array(3),
      horizon: 3,
      armDim: 2,
    };
    // P = 2, d = 1: W = [1, c(e^c−1)/(e−1)] with c = 1/2 → 0.18877, row 2 free
    const guide: ChunkGuide = {
      arm: Float32Array.of(1, 2, 10, 20),
      gripper: Uint8Array.of(1, 1),
      gripperProb: Float32Array.of(0.9, 0.95),
      delay: 1,
    };
    const w1 = (0.5 * Math.expm1(0.5)) / (Math.E - 1);
    const r = applyGuide(chunk, guide, { blendArm: true });
    expect(Array.from(r.arm.subarray(0, 2))).toEqual([1, 2]);
    expect(r.arm[2]).toBeCloseTo(w1 * 10, 5);
    expect(r.arm[3]).toBeCloseTo(w1 * 20, 5);
    expect(Array.from(r.arm.subarray(4))).toEqual([0, 0]);
    expect(r.gripperProb[1]).toBeCloseTo(w1 * 0.95 + (1 - w1) * 0.1, 6); // 0.26 → open
    expect(Array.from(r.gripper)).toEqual([1, 0, 0]);
    const flow = applyGuide(chunk, guide, { blendArm: false });
    expect(Array.from(flow.arm)).toEqual([1, 2, 0, 0, 0, 0]);
    expect(Array.from(chunk.arm)).toEqual([0, 0, 0, 0, 0, 0]); // the input is not changed
  });

  it('names the bad field', () => {
    const g: ChunkGuide = {
      arm: new Float32Array(4),
      gripper: new Uint8Array(2),
      gripperProb: new Float32Array(2),
      delay: 3,
    };
    expect(() => validateGuide(g, 5, 2)).toThrow(/ChunkGuide.delay/);
    expect(() => validateGuide({ ...g, delay: 1, arm: new Float32Array(3) }, 5, 2)).toThrow(/ChunkGuide.arm/);
    expect(() => validateGuide({ ...g, delay: 1 }, 1, 2)).toThrow(/ChunkGuide.gripper/);
    expect(() => validateGuide({ ...g, delay: 1, maxGuidanceWeight: -1 }, 5, 2)).toThrow(/maxGuidanceWeight/);
  });
});

describe('RTC chunks of both policies', () => {
  for (const objective of ['x0', 'velocity'] as const)
    it(`X-VLA (${objective}): the frozen prefix equals the executing actions exactly; the refinement composes on the guided anchor`, () => {
      const p = new XvlaAnchorRefinePolicy(
        xvlaPolicyConfig('tiny', {
          armDim: 3,
          stateDim: task.stateDim,
          overrides: { seed: 4, anchor: { steps: 4 }, backbone: { config: { objective } } },
        }),
        task.stats,
      );
      const obs = task.observation(0, 2);
      const free = p.predictActionChunk(obs);
      const guide = { ...planFrom(free, 4, 2, 0.5), maxGuidanceWeight: 20 };
      const c = p.predictActionChunk(obs, guide);
      expect(c.horizon).toBe(5);
      expect(Array.from(c.arm.subarray(0, 2 * 3))).toEqual(Array.from(guide.arm.subarray(0, 2 * 3)));
      expect(Array.from(c.gripper.subarray(0, 2))).toEqual(Array.from(guide.gripper.subarray(0, 2)));
      expect(Array.from(c.gripperProb.subarray(0, 2))).toEqual(Array.from(guide.gripperProb.subarray(0, 2)));
      // The guided sampler moved the anchor; ΔÂ is the same (the refiner never reads the anchor).
      expect(Array.from(c.delta)).toEqual(Array.from(free.delta));
      expect(rowDist(c.anchorArm, free.anchorArm, 0, 3)).toBeGreaterThan(1e-3);
      if (objective === 'velocity') {
        // Â = x − t·v has an identity Jacobian term, so even an untrained denoiser follows the guidance:
        // row 2 (W ≈ 0.38, not frozen) moves towards the plan. (An untrained x0 denoiser barely reads x_t.)
        const plan = new Float32Array(5 * 3);
        plan.set(guide.arm);
        expect(rowDist(c.arm, plan, 2, 3)).toBeLessThan(0.8 * rowDist(free.arm, plan, 2, 3));
      }
      p.dispose();
    });

  it('GR-1: the frozen prefix equals the executing actions exactly; the overlap is the W-blend', () => {
    const p = new AnchorRefinePolicy(
      policyConfig('tiny', { seed: 2, backbone: { config: { stateDim: task.stateDim, armDim: 3 } } }),
      task.stats,
    );
    const obs = [task.observation(1, 0), task.observation(1, 1)];
    const free = p.predictActionChunk(obs);
    const guide = planFrom(free, 4, 1, -0.3);
    const c = p.predictActionChunk(obs, guide);
    expect(Array.from(c.arm.subarray(0, 3))).toEqual(Array.from(guide.arm.subarray(0, 3)));
    expect(c.gripper[0]).toBe(guide.gripper[0]);
    const w = softPrefixMask(free.horizon, 4, 1);
    for (let j = 0; j < 3; j++)
      expect(c.arm[3 + j]).toBeCloseTo(w[1] * guide.arm[3 + j] + (1 - w[1]) * free.arm[3 + j], 5);
    // past the plan the chunk is the free prediction
    expect(Array.from(c.arm.subarray(4 * 3))).toEqual(Array.from(free.arm.subarray(4 * 3)));
    p.dispose();
  });
});
