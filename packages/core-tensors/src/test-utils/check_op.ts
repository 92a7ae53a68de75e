/**
 * checkOp: the one oracle of the backend-ops suite (ggml test-backend-ops / tinygrad style). It runs an
 * op on the `native` backend and a reference on tfjs's `cpu` backend over the same seeded inputs, and
 * compares every output and the gradient of sum_i <out_i, cotangent_i> with respect to every float
 * input, with |native - reference| <= atol + rtol * |reference|.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { makeRng } from './rng.js';

export interface InputSpec {
  shape: number[];
  dtype?: 'float32' | 'bool' | 'int32';
  /** Explicit values; otherwise N(0, std^2) for float32 and random 0/1 for bool/int32. */
  values?: ArrayLike<number>;
  std?: number;
  /** Differentiate with respect to this input (default: true for float32). */
  grad?: boolean;
}

export type OpResult = tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>;
export type OpFn = (x: Record<string, tf.Tensor>) => OpResult;

export interface CheckOpSpec {
  name: string;
  shapes: Record<string, number[] | InputSpec>;
  native: OpFn;
  /** Defaults to `native` (the same tf-level code, dispatched to the cpu kernels). */
  reference?: OpFn;
  atol?: number;
  rtol?: number;
  gradAtol?: number;
  gradRtol?: number;
  seed?: number;
}

interface SideResult {
  outputs: { shape: number[]; dtype: string; values: ArrayLike<number> }[];
  grads: Record<string, Float32Array>;
}

function toList(r: OpResult): tf.Tensor[] {
  if (r instanceof tf.Tensor) return [r];
  if (Array.isArray(r)) return r;
  return Object.keys(r)
    .sort()
    .map((k) => r[k]);
}

function makeInputs(spec: CheckOpSpec): Record<string, { spec: InputSpec; values: ArrayLike<number> }> {
  const rng = makeRng(spec.seed ?? 1234);
  const out: Record<string, { spec: InputSpec; values: ArrayLike<number> }> = {};
  for (const [name, s] of Object.entries(spec.shapes)) {
    const is: InputSpec = Array.isArray(s) ? { shape: s } : s;
    const n = sizeOf(is.shape);
    const dtype = is.dtype ?? 'float32';
    const values =
      is.values ??
      (dtype === 'float32'
        ? rng.normals(n, is.std ?? 1)
        : Int32Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0)));
    out[name] = { spec: { ...is, dtype }, values };
  }
  return out;
}

function runSide(
  fn: OpFn,
  inputs: ReturnType<typeof makeInputs>,
  cotangents: Map<number, Float32Array>,
  seed: number,
): SideResult {
  const xs: Record<string, tf.Tensor> = {};
  for (const [name, { spec, values }] of Object.entries(inputs)) {
    xs[name] = tf.tensor(Array.from(values), spec.shape, spec.dtype);
  }
  try {
    const outputs = tf.tidy(() =>
      toList(fn(xs)).map((t) => ({ shape: t.shape, dtype: t.dtype, values: t.dataSync().slice() })),
    );
    const rng = makeRng(seed + 99);
    outputs.forEach((o, i) => {
      if (o.dtype === 'float32' && !cotangents.has(i)) cotangents.set(i, rng.normals(sizeOf(o.shape)));
    });
    const gradNames = Object.keys(inputs).filter((n) => {
      const s = inputs[n].spec;
      return s.dtype === 'float32' && s.grad !== false;
    });
    const grads: Record<string, Float32Array> = {};
    if (gradNames.length > 0) {
      const loss = (...args: tf.Tensor[]): tf.Scalar => {
        const m = { ...xs };
        gradNames.forEach((n, i) => {
          m[n] = args[i];
        });
        let total: tf.Tensor = tf.scalar(0);
        toList(fn(m)).forEach((o, i) => {
          const cot = cotangents.get(i);
          if (o.dtype === 'float32' && cot) total = tf.add(total, tf.sum(tf.mul(o, tf.tensor(cot, o.shape))));
        });
        return total as tf.Scalar;
      };
      const gs = tf.tidy(() =>
        tf
          .grads(loss)(gradNames.map((n) => xs[n]))
          .map((g) => g.dataSync().slice() as Float32Array),
      );
      gradNames.forEach((n, i) => {
        grads[n] = gs[i];
      });
    }
    return { outputs, grads };
  } finally {
    tf.dispose(Object.values(xs));
  }
}

/** Largest violation of |a - b| <= atol + rtol * |b| (NaN never matches anything but NaN). */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): { ok: boolean; index: number; actual: number; expected: number; maxErr: number } {
  let worst = { ok: true, index: -1, actual: 0, expected: 0, maxErr: 0 };
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue; // equal infinities
    const err = Math.abs(a - e);
    const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(e));
    if (err > worst.maxErr || Number.isNaN(err)) worst = { ...worst, maxErr: Number.isNaN(err) ? NaN : err };
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = { ok: false, index: i, actual: a, expected: e, maxErr: worst.maxErr };
    }
  }
  if (actual.length !== expected.length) worst.ok = false;
  return worst;
}

/** Runs `spec` on both backends and throws an Error describing the first mismatch. */
export async function checkOp(spec: CheckOpSpec): Promise<void> {
  const previous = tf.getBackend();
  const inputs = makeInputs(spec);
  const cotangents = new Map<number, Float32Array>();
  const seed = spec.seed ?? 1234;
  let nat: SideResult;
  let ref: SideResult;
  try {
    await selectBackend('native');
    nat = runSide(spec.native, inputs, cotangents, seed);
    await selectBackend('cpu');
    ref = runSide(spec.reference ?? spec.native, inputs, cotangents, seed);
  } finally {
    await tf.setBackend(previous);
  }
  const where = `${spec.name} (${Object.entries(inputs)
    .map(([n, v]) => `${n} ${shapeStr(v.spec.shape)}`)
    .join(', ')})`;
  if (nat.outputs.length !== ref.outputs.length) {
    throw new Error(
      `${where}: ${nat.outputs.length} native outputs vs ${ref.outputs.length} reference outputs`,
    );
  }
  nat.outputs.forEach((o, i) => {
    const r = ref.outputs[i];
    if (o.shape.join(',') !== r.shape.join(',') || o.dtype !== r.dtype) {
      throw new Error(
        `${where}: output ${i} is ${shapeStr(o.shape)} ${o.dtype}, reference ${shapeStr(r.shape)} ${r.dtype}`,
      );
    }
    const exact = o.dtype !== 'float32';
    const c = compareArrays(
      o.values,
      r.values,
      exact ? 0 : (spec.atol ?? 1e-4),
      exact ? 0 : (spec.rtol ?? 1e-4),
    );
    if (!c.ok) {
      throw new Error(
        `${where}: output ${i} differs at flat index ${c.index}: native ${c.actual} vs reference ${c.expected} (max |err| ${c.maxErr})`,
      );
    }
  });
  for (const [name, g] of Object.entries(ref.grads)) {
    const c = compareArrays(nat.grads[name] ?? [], g, spec.gradAtol ?? 1e-3, spec.gradRtol ?? 1e-3);
    if (!c.ok) {
      throw new Error(
        `${where}: d/d${name} differs at flat index ${c.index}: native ${c.actual} vs reference ${c.expected} (max |err| ${c.maxErr})`,
      );
    }
  }
}
