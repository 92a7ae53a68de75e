/** The native backend's output-buffer pool: reuse happens, and never for an array someone may still hold. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { bufferPoolStats, clearBufferPool, outputF32 } from './buffer_pool.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

describe.skipIf(!nativeAvailable())('output-buffer pool (native backend)', () => {
  const native = useBackend('native', () => clearBufferPool(native()));

  const N = 4096;
  const input = (seed: number) => tf.tensor1d(makeRng(seed).normals(N));
  /** The stored array of a tensor, read without marking it exposed (the test peeks like a kernel does). */
  const stored = (t: tf.Tensor) => native().data.get(t.dataId).values as Float32Array;

  it('a disposed output array is reused for the next output of its size, and results stay right', () => {
    clearBufferPool(native());
    const [a, b] = [input(1), input(2)];
    const first = tf.add(a, b);
    const firstArray = stored(first);
    first.dispose();
    const before = bufferPoolStats(native());
    const second = tf.mul(a, b);
    expect(stored(second)).toBe(firstArray); // the same memory, a new tensor
    expect(bufferPoolStats(native())?.reused).toBe((before?.reused ?? 0) + 1);
    const want = tf.tidy(() => tf.mul(a, b).arraySync() as number[]); // exposed: a fresh array
    expect(Array.from(second.dataSync())).toEqual(want);
    tf.dispose([a, b, second]);
  });

  it('never reuses an array handed out by dataSync / data', async () => {
    clearBufferPool(native());
    const [a, b] = [input(3), input(4)];
    const sum = tf.add(a, b);
    const seen = sum.dataSync();
    const copy = seen.slice();
    sum.dispose();
    const sum2 = tf.add(a, b);
    const later = await sum2.data();
    sum2.dispose();
    const others = [tf.sub(a, b), tf.mul(a, b), tf.sub(b, a)]; // same size: would take a pooled array
    expect(Array.from(seen)).toEqual(Array.from(copy));
    expect(others.every((t) => stored(t) !== seen && stored(t) !== later)).toBe(true);
    tf.dispose([a, b, ...others]);
  });

  it('never reuses the caller array of tf.tensor, nor an array still aliased by a reshape', () => {
    clearBufferPool(native());
    const user = makeRng(5).normals(N);
    const userCopy = user.slice();
    const t = tf.tensor1d(user);
    const out = tf.tidy(() => tf.neg(input(6)));
    const reshaped = out.reshape([64, 64]); // same dataId: the array lives on
    const reshapedArray = stored(reshaped);
    const expected = Float32Array.from(reshapedArray);
    out.dispose();
    t.dispose();
    const next = [tf.tidy(() => tf.exp(input(7))), tf.tidy(() => tf.exp(input(8)))];
    expect(Array.from(user)).toEqual(Array.from(userCopy));
    expect(next.every((x) => stored(x) !== user && stored(x) !== reshapedArray)).toBe(true);
    expect(Array.from(stored(reshaped))).toEqual(Array.from(expected));
    tf.dispose([reshaped, ...next]);
  });

  it('never reuses an array whose buffer another tensor views (tfjs-cpu contiguous slices are subarrays)', () => {
    clearBufferPool(native());
    const x = tf.tidy(() => tf.add(tf.tensor2d(makeRng(9).normals(2 * N), [2, N]), 1)); // pooled-eligible
    const rows = tf.unstack(x); // tfjs-cpu Unpack: views onto x's buffer
    const want = rows.map((r) => Float32Array.from(stored(r)));
    x.dispose();
    const filler = tf.tidy(() => [
      tf.add(input(10), 1),
      tf.add(input(11), 2),
      tf.square(tf.tensor1d(makeRng(12).normals(2 * N))),
    ]);
    rows.forEach((r, i) => {
      expect(Array.from(stored(r))).toEqual(Array.from(want[i]));
    });
    tf.dispose([...rows, ...filler]);
  });

  it('under IS_TEST a reused array comes back NaN-filled (so oracle tests catch unwritten elements)', () => {
    clearBufferPool(native());
    const t = tf.tidy(() => tf.abs(input(13)));
    const arr = stored(t);
    t.dispose();
    const again = outputF32(native(), N);
    expect(again).toBe(arr);
    expect(again.every(Number.isNaN)).toBe(true);
  });
});
