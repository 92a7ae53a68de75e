/**
 * linear (the native Linear / LinearInputGrad / LinearWeightGrad kernels) against its composite tfjs
 * reference on random shapes (forward and every gradient), a hand-computed case, the bit-identity the
 * kernel promises (bias added after the product), frozen inputs, bad shapes and tensor hygiene.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { linear } from './ops/linear.js';
import { linearReference } from './ops/linear_reference.js';
import { checkOp } from './test-utils/check_op.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

const native = nativeAvailable();

describe.skipIf(!native)('linear (native kernels vs composite reference)', () => {
  useBackend('native');
  const cases: [string, number[], number, boolean][] = [
    ['[5,7] -> 3 with bias', [5, 7], 3, true],
    ['[2,3,16] -> 9 no bias', [2, 3, 16], 9, false],
    ['[2,2,3,8] -> 12 rank 4', [2, 2, 3, 8], 12, true],
    ['[11] rank 1 -> 4', [11], 4, true],
    ['[1,128] -> 128 (one row)', [1, 128], 128, true],
    ['[0,6] -> 5 no rows', [0, 6], 5, true],
    ['[4,0] -> 3 no inputs (y = bias)', [4, 0], 3, true],
    ['[64,44,128] -> 512 (parallel bias pass)', [64, 44, 128], 512, true],
  ];
  const rng = makeRng(7);
  for (const [name, xShape, out, hasBias] of cases) {
    const inF = xShape[xShape.length - 1];
    it(`linear ${name}`, () =>
      checkOp({
        name: `linear ${name}`,
        shapes: {
          x: xShape,
          weight: [out, inF],
          ...(hasBias ? { bias: { shape: [out] } } : {}),
        },
        native: (x) => linear(x.x, x.weight, x.bias),
        reference: (x) => linearReference(x.x, x.weight, x.bias),
        seed: Math.floor(rng.uniform() * 1e6),
        atol: 1e-5,
        rtol: 1e-5,
        gradAtol: 1e-4,
        gradRtol: 1e-4,
      }));
  }

  it('a hand-computed case', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, -1],
    ]);
    const w = tf.tensor2d([
      [1, 0],
      [2, 1],
      [0, -1],
    ]); // [out 3, in 2]
    const b = tf.tensor1d([0.5, 0, -2]);
    const y = linear(x, w, b);
    // row 0: [1, 4, -2] + b; row 1: [3, 5, 1] + b
    expect(Array.from(y.dataSync())).toEqual([1.5, 4, -4, 3.5, 5, -1]);
    // d(sum y)/dW = column sums of x per output row; d/db = rows; d/dx = column sums of W
    const [dx, dw, db] = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(linear(a, c, d)))([
      x,
      w,
      b,
    ]);
    expect(Array.from(dx.dataSync())).toEqual([3, 0, 3, 0]);
    expect(Array.from(dw.dataSync())).toEqual([4, 1, 4, 1, 4, 1]);
    expect(Array.from(db.dataSync())).toEqual([2, 2, 2]);
    tf.dispose([x, w, b, y, dx, dw, db]);
  });

  it('forward is bit-identical to matMul + add on the native backend (the bias comes after the product)', () => {
    const x = tf.randomNormal([3, 37, 96], 0, 1, 'float32', 3);
    const w = tf.randomNormal([160, 96], 0, 1, 'float32', 4);
    const b = tf.randomNormal([160], 0, 1, 'float32', 5);
    const y = linear(x, w, b);
    const r = linearReference(x, w, b);
    expect(Array.from(y.dataSync())).toEqual(Array.from(r.dataSync()));
    tf.dispose([x, w, b, y, r]);
  });

  it('differentiates only what is asked: a frozen weight or input gets no kernel and nothing leaks', () => {
    const x = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 1);
    const w = tf.randomNormal([3, 6], 0, 1, 'float32', 2);
    const b = tf.randomNormal([3], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const dxOnly = tf.grad((a: tf.Tensor) => tf.sum(tf.square(linear(a, w, b))))(x);
    const dwOnly = tf.grad((c: tf.Tensor) => tf.sum(tf.square(linear(x, c, b))))(w);
    const refDx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(linearReference(a, w, b))))(x);
    const refDw = tf.grad((c: tf.Tensor) => tf.sum(tf.square(linearReference(x, c, b))))(w);
    const close = (p: tf.Tensor, q: tf.Tensor) => {
      const pv = p.dataSync();
      const qv = q.dataSync();
      expect(pv.length).toBe(qv.length);
      for (let i = 0; i < pv.length; i++)
        expect(Math.abs(pv[i] - qv[i])).toBeLessThan(1e-4 * (1 + Math.abs(qv[i])));
    };
    close(dxOnly, refDx);
    close(dwOnly, refDw);
    tf.dispose([dxOnly, dwOnly, refDx, refDw]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('names the shapes it refuses', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 5]);
      const w = tf.zeros([3, 4]);
      const b = tf.zeros([4]);
      expect(() => linear(x, w)).toThrow(/linear: x must be \[\.\.\., 4\] \(got x \[2,5\], weight \[3,4\]\)/);
      expect(() => linear(tf.zeros([2, 4]), w, b)).toThrow(/linear: bias must be \[3\]/);
      expect(() => linear(tf.zeros([2, 4]), tf.zeros([3, 4, 1]))).toThrow(/weight must be \[out, in\]/);
      expect(() => linear(tf.zeros([2, 4], 'int32'), w)).toThrow(/must be float32/);
    });
  });
});

describe('linear on a backend without the kernel', () => {
  useBackend('cpu');
  it('falls back to the composite reference on tfjs cpu', () => {
    const x = tf.tensor2d([[1, 2]]);
    const w = tf.tensor2d([[3, 4]]);
    const b = tf.tensor1d([1]);
    const y = linear(x, w, b);
    expect(Array.from(y.dataSync())).toEqual([12]);
    tf.dispose([x, w, b, y]);
  });
});
