import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { sinusoidalEmbedding } from './sinusoidal.js';

describe('sinusoidalEmbedding', () => {
  it('classic order: [sin | cos], maxPeriod 10000', () => {
    // dim 4 → freqs [1, 10000^(−1/2) = 0.01]; position 1 → args [1, 0.01]
    const e = sinusoidalEmbedding([0, 1], 4);
    expect(e.shape).toEqual([2, 4]);
    tf.test_util.expectArraysClose(
      e.dataSync(),
      [0, 0, 1, 1, Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01)],
      1e-6,
    );
    e.dispose();
  });

  it('X-VLA / DiT order: [cos | sin], maxPeriod 100', () => {
    // dim 4 → freqs [1, 100^(−1/2) = 0.1]; timestep 2 → args [2, 0.2]
    const t = tf.tensor1d([2]);
    const e = sinusoidalEmbedding(t, 4, { cosFirst: true, maxPeriod: 100 });
    tf.test_util.expectArraysClose(e.dataSync(), [-0.4161468, 0.9800666, 0.9092974, 0.1986693], 1e-6);
    tf.dispose([t, e]);
  });

  it('interleaves pairs and zero-pads an odd dim', () => {
    const e = sinusoidalEmbedding([1], 5, { interleave: true });
    tf.test_util.expectArraysClose(
      e.dataSync(),
      [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01), 0],
      1e-6,
    );
    expect(e.shape).toEqual([1, 5]);
    e.dispose();
  });
});
