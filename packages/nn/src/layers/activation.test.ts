import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { activation, gelu, geluTanh, silu } from './activation.js';

describe('activations', () => {
  it('exact GELU matches x·Φ(x) at known points', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
    const y = gelu(x);
    // x·Φ(x) from the normal CDF (PyTorch F.gelu gives the same to float32 precision)
    tf.test_util.expectArraysClose(
      y.dataSync(),
      [-0.0040496, -0.1586553, 0, 0.3457312, 0.8413447, 1.9544997],
      2e-6,
    );
    tf.dispose([x, y]);
  });

  it('tanh-approximate GELU and SiLU match known values', () => {
    const x = tf.tensor1d([-1, 1, 2]);
    const g = geluTanh(x);
    const s = silu(x);
    tf.test_util.expectArraysClose(g.dataSync(), [-0.158808, 0.841192, 1.9545977], 2e-6);
    tf.test_util.expectArraysClose(s.dataSync(), [-0.2689414, 0.7310586, 1.7615942], 2e-6);
    tf.dispose([x, g, s]);
  });

  it('GELU is differentiable: d/dx = Φ(x) + x·φ(x)', () => {
    const x = tf.tensor1d([0, 1]);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x);
    tf.test_util.expectArraysClose(dx.dataSync(), [0.5, 1.0833155], 1e-5);
    tf.dispose([x, dx]);
  });

  it('looks activations up by name', () => {
    const x = tf.tensor1d([-1, 2]);
    const y = activation('relu')(x);
    expect(Array.from(y.dataSync())).toEqual([0, 2]);
    tf.dispose([x, y]);
  });
});
