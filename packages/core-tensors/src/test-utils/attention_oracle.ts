/**
 * Oracle helpers of the attention layout tests: run an op forward and backward (the gradient of
 * sum(out * cotangent) w.r.t. chosen inputs) on a given backend over fixed inputs, compare bit for bit,
 * and compare against a reference with a tolerance derived from float32 accumulation.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { selectBackend, setThreads } from '../backend.js';
import { sizeOf } from '../shape_utils.js';
import type { Rng } from './rng.js';

/** float32 unit roundoff (2^-24). */
export const F32_UNIT_ROUNDOFF = 2 ** -24;

export interface InputData {
  shape: number[];
  dtype: 'float32' | 'bool';
  values: Float32Array | Uint8Array;
}

export type Inputs = Record<string, InputData>;

export interface SideResult {
  out: Float32Array;
  outShape: number[];
  grads: Record<string, Float32Array>;
}

/** N(0,1) float32 input. */
export function normalInput(rng: Rng, shape: number[]): InputData {
  return { shape, dtype: 'float32', values: rng.normals(sizeOf(shape)) };
}

/** [B, Tk] bool padding mask, ~30 % padded keys (so some rows of some batches may see no key). */
export function maskInput(rng: Rng, batch: number, kLen: number): InputData {
  const values = Uint8Array.from({ length: batch * kLen }, () => (rng.uniform() < 0.3 ? 1 : 0));
  return { shape: [batch, kLen], dtype: 'bool', values };
}

/** N(0,1) bias with -Infinity at every 7th entry. */
export function biasInput(rng: Rng, shape: number[]): InputData {
  const values = rng.normals(sizeOf(shape));
  for (let i = 6; i < values.length; i += 7) values[i] = -Infinity;
  return { shape, dtype: 'float32', values };
}

/**
 * Runs fn on the active backend: its output and the gradients of sum(out * cot) w.r.t. `gradNames`.
 * Leaves no tensor behind.
 */
export function runSide(
  fn: (x: Record<string, tf.Tensor>) => tf.Tensor,
  inputs: Inputs,
  gradNames: readonly string[],
  cot: Float32Array,
): SideResult {
  const xs: Record<string, tf.Tensor> = {};
  for (const [name, d] of Object.entries(inputs)) xs[name] = tf.tensor(d.values, d.shape, d.dtype);
  try {
    const outT = tf.tidy(() => fn(xs));
    const out = outT.dataSync().slice() as Float32Array;
    const outShape = outT.shape;
    outT.dispose();
    const loss = (...args: tf.Tensor[]): tf.Scalar => {
      const m = { ...xs };
      gradNames.forEach((n, i) => {
        m[n] = args[i];
      });
      const o = fn(m);
      return tf.sum(tf.mul(o, tf.tensor(cot, o.shape))) as tf.Scalar;
    };
    const gs = tf.tidy(() =>
      tf
        .grads(loss)(gradNames.map((n) => xs[n]))
        .map((g) => g.dataSync().slice() as Float32Array),
    );
    const grads: Record<string, Float32Array> = {};
    gradNames.forEach((n, i) => {
      grads[n] = gs[i];
    });
    return { out, outShape, grads };
  } finally {
    tf.dispose(Object.values(xs));
  }
}

/** runSide on `backend`, restoring the active backend afterwards. */
export async function runOn(
  backend: 'native' | 'cpu',
  fn: (x: Record<string, tf.Tensor>) => tf.Tensor,
  inputs: Inputs,
  gradNames: readonly string[],
  cot: Float32Array,
): Promise<SideResult> {
  const previous = tf.getBackend();
  try {
    await selectBackend(backend);
    return runSide(fn, inputs, gradNames, cot);
  } finally {
    await tf.setBackend(previous);
  }
}

/** Bitwise equality of two float arrays (NaN payloads and the sign of zero included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Expects two results to agree bit for bit (output and every gradient). */
export function expectSameBits(a: SideResult, b: SideResult, what: string): void {
  expect(a.outShape, `${what}: output shape`).toEqual(b.outShape);
  expect(sameBits(a.out, b.out), `${what}: output bits differ`).toBe(true);
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  for (const name of Object.keys(a.grads)) {
    expect(sameBits(a.grads[name], b.grads[name]), `${what}: d/d${name} bits differ`).toBe(true);
  }
}

/**
 * Runs `run` twice with 2 threads and once with 1 and expects the same bits every time (output and
 * gradients); the thread count is back at its default afterwards.
 */
export async function expectSameBitsAcrossThreads(run: () => Promise<SideResult>): Promise<void> {
  try {
    setThreads(2);
    const a = await run();
    const a2 = await run();
    setThreads(1);
    const b = await run();
    expectSameBits(a, a2, '2 threads, run 1 vs run 2');
    expectSameBits(a, b, '2 threads vs 1 thread');
  } finally {
    setThreads(0);
  }
}

/**
 * Tolerance of two float32 evaluations of a result formed by sums of n terms: each is within
 * γ_n = n·u of the exact value relative to the terms' magnitude (bounded by the largest |value| of the
 * reference), so |a − b| ≤ 2·n·u·max|ref|.
 */
export function float32Tolerance(n: number, ref: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) if (Number.isFinite(ref[i])) m = Math.max(m, Math.abs(ref[i]));
  return 2 * n * F32_UNIT_ROUNDOFF * m;
}

/** Expects |actual − expected| ≤ tol elementwise (equal non-finite values match). */
export function expectClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] === expected[i]) continue;
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      at = i;
    }
  }
  expect(
    worst <= tol,
    `${what}: max |err| ${worst} at ${at} (actual ${actual[at]}, expected ${expected[at]}) > tolerance ${tol}`,
  ).toBe(true);
}

/**
 * Compares a native result with a reference one: output within float32Tolerance(nOut), each gradient
 * within float32Tolerance(nGrad) of its own magnitude.
 */
export function expectMatchesReference(
  actual: SideResult,
  expected: SideResult,
  nOut: number,
  nGrad: number,
  what: string,
): void {
  expect(actual.outShape, `${what}: output shape`).toEqual(expected.outShape);
  expectClose(actual.out, expected.out, float32Tolerance(nOut, expected.out), `${what}: output`);
  for (const [name, g] of Object.entries(expected.grads)) {
    expectClose(actual.grads[name], g, float32Tolerance(nGrad, g), `${what}: d/d${name}`);
  }
}
