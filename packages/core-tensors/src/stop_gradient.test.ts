import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { stopGradient } from './ops/stop_gradient.js';

describe('stopGradient', () => {
  it('is the identity forward and has zero gradient', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const y = stopGradient(x);
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3]);
    // f(x) = Σ x² + sg(x)·3 → ∂f/∂x = 2x only.
    const g = tf.grad((a: tf.Tensor) => tf.add(tf.sum(tf.square(a)), tf.sum(tf.mul(stopGradient(a), 3))))(x);
    expect(Array.from(g.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, y, g]);
  });
});
