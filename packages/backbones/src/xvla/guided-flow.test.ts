import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { sampleChunk } from './flow.js';
import { guidanceWeight, sampleGuidedChunk } from './guided-flow.js';

// A linear "denoiser" f(x, t) = 0.5·x, chunk of 2 steps × 1 channel, x1 = [1, 1], target Y = [2, 2],
// soft mask W = [1, 0] (step 0 frozen, step 1 free), β = 5, two sampling steps (t = 1, then t = 0.5).
const half = (x: tf.Tensor) => tf.mul(x, 0.5);
const setup = () => ({
  x1: tf.tensor3d([[[1], [1]]]),
  guide: { target: tf.tensor3d([[[2], [2]]]), weights: tf.tensor3d([[[1], [0]]]), maxWeight: 5 },
});

describe('RTC guidance (hand-computed)', () => {
  it('guidance weight w(t) = min(β, ((1−t)² + t²)/(t(1−t))), β at the ends', () => {
    expect(guidanceWeight(0.5, 5)).toBeCloseTo(2, 12); // (0.25 + 0.25) / 0.25
    expect(guidanceWeight(0.9, 100)).toBeCloseTo(0.82 / 0.09, 12);
    expect(guidanceWeight(0.9, 5)).toBe(5); // 9.11 clipped
    expect(guidanceWeight(1, 5)).toBe(5);
    expect(guidanceWeight(0, 3)).toBe(3);
    expect(() => guidanceWeight(1.5, 5)).toThrow(/t must be in/);
    expect(() => guidanceWeight(0.5, 0)).toThrow(/cap β/);
  });

  it('x0 objective: two guided steps', () => {
    const before = tf.memory().numTensors;
    const { x1, guide } = setup();
    const out = sampleGuidedChunk('x0', half, x1, 2, guide);
    // t = 1: Â = 0.5·x1 = [.5, .5]; e = W(Y − Â) = [1.5, 0]; g = e·∂Â/∂x = [.75, 0]; w = β = 5
    //        x ← 0.5·x1 + 0.5·Â + 0.5·5·g = [0.75 + 1.875, 0.75] = [2.625, 0.75]
    // t = .5: Â = [1.3125, .375]; e = [.6875, 0]; g = [.34375, 0]; w = 2
    //        x ← Â + 0.5·2·g = [1.65625, 0.375]
    tf.test_util.expectArraysClose(out.dataSync(), [1.65625, 0.375], 1e-6);
    tf.dispose([out, x1, guide.target, guide.weights]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('velocity objective: two guided Euler steps', () => {
    const { x1, guide } = setup();
    const out = sampleGuidedChunk('velocity', half, x1, 2, guide);
    // Â = x − t·0.5x, ∂Â/∂x = 1 − t/2.
    // t = 1: f = .5, Â = .5; e = [1.5, 0]; g = [.75, 0]; x ← 1 − .25 + .5·5·g = [2.625, .75]
    // t = .5: f = [1.3125, .375]; Â = .75·x = [1.96875, .5625]; e = [.03125, 0]; g = [.0234375, 0]; w = 2
    //        x ← x − .5·f + .5·2·g = [2.625 − .65625 + .0234375, .75 − .1875] = [1.9921875, .5625]
    tf.test_util.expectArraysClose(out.dataSync(), [1.9921875, 0.5625], 1e-6);
    tf.dispose([out, x1, guide.target, guide.weights]);
  });

  it('with W = 0 the guided sampler is the plain sampler (both objectives)', () => {
    const f = (x: tf.Tensor, t: tf.Tensor) => tf.add(tf.mul(tf.sin(x), 0.7), tf.reshape(t, [-1, 1, 1]));
    const x1 = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 7);
    const guide = { target: tf.onesLike(x1), weights: tf.zeros([1, 4, 3]), maxWeight: 10 };
    for (const obj of ['x0', 'velocity'] as const) {
      const a = sampleChunk(obj, f, x1, 5);
      const b = sampleGuidedChunk(obj, f, x1, 5, guide);
      tf.test_util.expectArraysClose(b.dataSync(), a.dataSync(), 1e-6);
      tf.dispose([a, b]);
    }
    tf.dispose([x1, guide.target, guide.weights]);
  });

  it('pulls the weighted steps towards the target and leaves unweighted steps alone', () => {
    // f = 0: the plain sampler gives 0 everywhere (x0); guidance moves step 0 towards Y only.
    const zero = (x: tf.Tensor) => tf.mul(x, 0);
    const x1 = tf.ones([1, 2, 1]);
    const f = (x: tf.Tensor) => tf.add(zero(x), tf.mul(x, 0.9));
    const guide = { target: tf.tensor3d([[[3], [3]]]), weights: tf.tensor3d([[[1], [0]]]), maxWeight: 5 };
    const [plain, guided] = [sampleChunk('x0', f, x1, 10), sampleGuidedChunk('x0', f, x1, 10, guide)].map(
      (r) => {
        const v = r.dataSync();
        r.dispose();
        return v;
      },
    );
    expect(Math.abs(guided[0] - 3)).toBeLessThan(Math.abs(plain[0] - 3) * 0.5);
    expect(guided[1]).toBeCloseTo(plain[1], 6);
    tf.dispose([x1, guide.target, guide.weights]);
  });

  it('refuses a target of another shape', () => {
    const x1 = tf.ones([1, 2, 1]);
    const g = { target: tf.ones([1, 3, 1]), weights: tf.ones([1, 2, 1]), maxWeight: 1 };
    expect(() => sampleGuidedChunk('x0', half, x1, 2, g)).toThrow(/target shape/);
    tf.dispose([x1, g.target, g.weights]);
  });
});
