import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LayerNorm } from './layer_norm.js';

describe('LayerNorm', () => {
  it('normalizes the last axis with biased variance (hand-computed)', () => {
    // x = [1, 2, 3, 4]: mean 2.5, var 1.25, (x − 2.5)/√1.25 = [−1.3416, −0.4472, 0.4472, 1.3416]
    const ln = new LayerNorm(4, { eps: 0 });
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [2, 2, 2, 6],
    ]);
    const y = ln.forward(x);
    // row 1: mean 3, var 3, (x − 3)/√3 = [−0.5774 ×3, 1.7321]
    tf.test_util.expectArraysClose(
      y.dataSync(),
      [-1.3416408, -0.4472136, 0.4472136, 1.3416408, -0.5773503, -0.5773503, -0.5773503, 1.7320508],
      1e-5,
    );
    tf.dispose([x, y]);
    ln.dispose();
  });

  it('applies weight and bias, and eps', () => {
    const ln = new LayerNorm(4, { eps: 1.25 });
    const w = tf.tensor1d([1, 2, 1, 1]);
    const b = tf.tensor1d([0, 0, 1, 0]);
    ln.loadStateDict({ weight: w, bias: b });
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = ln.forward(x);
    // (x − 2.5)/√(1.25 + 1.25) = [−0.9487, −0.3162, 0.3162, 0.9487]
    tf.test_util.expectArraysClose(y.dataSync(), [-0.9486833, -0.6324555, 1.3162278, 0.9486833], 1e-5);
    tf.dispose([w, b, x, y]);
    ln.dispose();
  });

  it('has no parameters without elementwise affine', () => {
    const ln = new LayerNorm(3, { elementwiseAffine: false });
    expect(ln.numParameters()).toBe(0);
    ln.dispose();
  });
});
