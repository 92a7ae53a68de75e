import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { composeGripper } from './compose.js';

const logit = (p: number): number => Math.log(p / (1 - p));
// p = σ(λ) = [0.3, 0.8, 0.5, 0.45].
const LOGITS = [logit(0.3), logit(0.8), 0, logit(0.45)];

describe('composeGripper (Eq. 11)', () => {
  it('clips p + δ̂ to [0, 1] and closes only when p + δ̂ > 0.5', () => {
    // δ̂ = [0.9, −0.9, 0, 0.1] → p + δ̂ = [1.2, −0.1, 0.5, 0.55]
    // prob = [1, 0, 0.5, 0.55]; closed = [true, false, false (0.5 is not > 0.5), true].
    const lg = tf.tensor2d(LOGITS, [1, 4]);
    const dp = tf.tensor2d([0.9, -0.9, 0, 0.1], [1, 4]);
    const { prob, closed } = composeGripper(lg, dp);
    expect(prob.shape).toEqual([1, 4]);
    expect(closed.dtype).toBe('bool');
    const v = Array.from(prob.dataSync());
    [1, 0, 0.5, 0.55].forEach((e, i) => {
      expect(v[i]).toBeCloseTo(e, 6);
    });
    expect(Array.from(closed.dataSync())).toEqual([1, 0, 0, 1]);
    tf.dispose([lg, dp, prob, closed]);
  });

  it("without deltaPred ('none') returns the anchor decision p ≥ 0.5", () => {
    // prob = p = [0.3, 0.8, 0.5, 0.45]; closed = [false, true, true (0.5 ≥ 0.5), false].
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const { prob, closed } = composeGripper(lg);
    const v = Array.from(prob.dataSync());
    [0.3, 0.8, 0.5, 0.45].forEach((e, i) => {
      expect(v[i]).toBeCloseTo(e, 6);
    });
    expect(Array.from(closed.dataSync())).toEqual([0, 1, 1, 0]);
    tf.dispose([lg, prob, closed]);
  });

  it('applying the Eq. 9 target flips exactly the wrong anchor decisions', () => {
    // y = [1, 0, 0, 0], δ* = [0.3, −0.4, −0.1, 0] → p + δ* = [0.6, 0.4, 0.4, 0.45] → closed = y.
    const lg = tf.tensor2d(LOGITS, [1, 4]);
    const dp = tf.tensor2d([0.3, -0.4, -0.1, 0], [1, 4]);
    const { prob, closed } = composeGripper(lg, dp);
    expect(Array.from(closed.dataSync())).toEqual([1, 0, 0, 0]);
    tf.dispose([lg, dp, prob, closed]);
  });

  it('validates shapes', () => {
    const lg = tf.tensor2d(LOGITS, [1, 4]);
    const dp = tf.tensor2d([0, 0, 0, 0], [2, 2]);
    const flat = tf.tensor1d(LOGITS);
    expect(() => composeGripper(lg, dp)).toThrow(
      /composeGripper: deltaPred shape \[2, 2\] must equal anchorLogits shape \[1, 4\]/,
    );
    expect(() => composeGripper(flat)).toThrow(/composeGripper: anchorLogits must be \[B, H\]/);
    tf.dispose([lg, dp, flat]);
  });
});
