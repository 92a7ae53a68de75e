import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { nativeAvailable } from './test-utils/native_available.js';

// f(x) = Σ exp(x)·x² — Exp and Multiply both save tensors for their gradients.
const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.exp(x), tf.square(x))) as tf.Scalar;
const xs = [0.5, -1.25, 2];
// f'(x) = eˣ(x² + 2x)
const d1 = xs.map((x) => Math.exp(x) * (x * x + 2 * x));

const close = (got: ArrayLike<number>, want: number[]) => {
  for (const [i, w] of want.entries()) {
    expect(Math.abs(got[i] - w), `index ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(w)));
  }
};

describe.skipIf(!nativeAvailable())('saved tensors on the native backend', () => {
  it('are aliases for a first-order gradient: no Identity kernel, same gradient, nothing left behind', async () => {
    await selectBackend('native');
    const x = tf.tensor1d(xs);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      const g = tf.grad(f)(x);
      close(g.dataSync(), d1);
      g.dispose();
    });
    expect(info.kernels.map((k) => k.name)).not.toContain('Identity');
    expect(info.kernels.map((k) => k.name)).toContain('Exp');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('still connect to the outer tape for a second-order gradient', async () => {
    await selectBackend('native');
    const x = tf.tensor1d(xs);
    // c(x) = Σ (x·x)·x: Σ c'(x) differentiated again is c''(x) = 6x elementwise. (tfjs's own second-order
    // gradients are exact for Mul but not for every kernel, e.g. not for f above, on any backend.)
    const cube = (a: tf.Tensor) => tf.sum(tf.mul(tf.mul(a, a), a)) as tf.Scalar;
    const g2 = tf.grad((a: tf.Tensor) => tf.sum(tf.grad(cube)(a)) as tf.Scalar)(x);
    close(
      g2.dataSync(),
      xs.map((v) => 6 * v),
    );
    tf.dispose([x, g2]);
  });
});
