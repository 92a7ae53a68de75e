/**
 * fusedAttention(q, k, v, { layout: 'bthd' }): q [B,Tq,H,D], k/v [B,Tk,H,D] → [B,Tq,H,D]. The native
 * kernel reads and writes the heads in place through strides. Checked, forward and gradients (q, k, v,
 * bias), against
 *   - the composite reference on tfjs-cpu (float32-accumulation tolerance),
 *   - the native default layout with explicit head transposes (bit for bit: strides only move the
 *     operands, never the summation order),
 *   - itself with 1 and 2 threads (bit for bit).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { setThreads } from './backend.js';
import { fusedAttention } from './ops/fused_attention.js';
import { fusedAttentionReference } from './ops/fused_attention_reference.js';
import {
  biasInput,
  expectMatchesReference,
  expectSameBits,
  expectSameBitsAcrossThreads,
  type Inputs,
  maskInput,
  normalInput,
  runOn,
} from './test-utils/attention_oracle.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

const native = nativeAvailable();

interface Case {
  name: string;
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  causal?: boolean;
  mask?: boolean;
  /** bias shape, broadcastable to [B,H,Tq,Tk] */
  bias?: number[];
}

const cases: Case[] = [
  { name: 'plain, odd T', B: 2, H: 3, Tq: 37, Tk: 37, D: 16 },
  { name: 'cross Tq < Tk, H = 1, D = 72 > 64, causal', B: 1, H: 1, Tq: 9, Tk: 23, D: 72, causal: true },
  {
    name: 'D = 20 (not a multiple of 8), causal + mask + bias [Tq,Tk]',
    B: 2,
    H: 4,
    Tq: 31,
    Tk: 31,
    D: 20,
    causal: true,
    mask: true,
    bias: [31, 31],
  },
  {
    name: 'cross Tq > Tk, mask + bias [B,1,1,Tk]',
    B: 3,
    H: 2,
    Tq: 70,
    Tk: 5,
    D: 12,
    mask: true,
    bias: [3, 1, 1, 5],
  },
  { name: 'two tiles, D = 130, bias [H,Tq,Tk]', B: 1, H: 2, Tq: 65, Tk: 130, D: 130, bias: [2, 65, 130] },
  { name: 'D = 3, bias [Tk] + causal', B: 2, H: 2, Tq: 6, Tk: 6, D: 3, causal: true, bias: [6] },
];

function inputsOf(c: Case, seed: number): Inputs {
  const rng = makeRng(seed);
  const x: Inputs = {
    q: normalInput(rng, [c.B, c.Tq, c.H, c.D]),
    k: normalInput(rng, [c.B, c.Tk, c.H, c.D]),
    v: normalInput(rng, [c.B, c.Tk, c.H, c.D]),
  };
  if (c.mask) x.mask = maskInput(rng, c.B, c.Tk);
  if (c.bias) x.bias = biasInput(rng, c.bias);
  return x;
}

function gradNames(c: Case): string[] {
  return c.bias ? ['q', 'k', 'v', 'bias'] : ['q', 'k', 'v'];
}

type Fn = (x: Record<string, tf.Tensor>) => tf.Tensor;

function opts(c: Case, x: Record<string, tf.Tensor>) {
  return { causal: c.causal, keyPaddingMask: x.mask, bias: x.bias };
}

/** The op under test. */
const bthd =
  (c: Case): Fn =>
  (x) =>
    fusedAttention(x.q as tf.Tensor4D, x.k as tf.Tensor4D, x.v as tf.Tensor4D, {
      ...opts(c, x),
      layout: 'bthd',
    });

/** The composite reference in layout 'bthd' (transposes around fusedAttentionReference). */
const reference =
  (c: Case): Fn =>
  (x) =>
    fusedAttentionReference(x.q as tf.Tensor4D, x.k as tf.Tensor4D, x.v as tf.Tensor4D, {
      ...opts(c, x),
      layout: 'bthd',
    });

/** Today's path: explicit head transposes around the default-layout op. */
const transposed =
  (c: Case): Fn =>
  (x) => {
    const heads = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D; // [B,T,H,D] -> [B,H,T,D]
    const o = fusedAttention(heads(x.q), heads(x.k), heads(x.v), opts(c, x)); // [B,H,Tq,D]
    return tf.transpose(o, [0, 2, 1, 3]); // [B,H,Tq,D] -> [B,Tq,H,D]
  };

/** Accumulation lengths of the output (scores over D, softmax and P·V over Tk) and of the gradients. */
function lengths(c: Case): { nOut: number; nGrad: number } {
  const biasTerms = c.bias ? (c.B * c.H * c.Tq * c.Tk) / c.bias.reduce((a, b) => a * b, 1) : 0;
  return { nOut: c.Tk + c.D, nGrad: c.Tq + c.Tk + c.D + biasTerms };
}

function cotangent(c: Case, seed: number): Float32Array {
  return makeRng(seed + 7).normals(c.B * c.Tq * c.H * c.D);
}

describe.skipIf(!native)("fusedAttention layout 'bthd' (native)", () => {
  useBackend('native', () => setThreads(0));

  cases.forEach((c, i) => {
    it(`${c.name}: matches the composite reference on tfjs-cpu`, async () => {
      const x = inputsOf(c, 100 + i);
      const cot = cotangent(c, 100 + i);
      const got = await runOn('native', bthd(c), x, gradNames(c), cot);
      const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
      expect(got.outShape).toEqual([c.B, c.Tq, c.H, c.D]);
      const { nOut, nGrad } = lengths(c);
      expectMatchesReference(got, want, nOut, nGrad, c.name);
    });

    it(`${c.name}: bit-identical to head transposes + layout 'bhtd'`, async () => {
      const x = inputsOf(c, 200 + i);
      const cot = cotangent(c, 200 + i);
      const got = await runOn('native', bthd(c), x, gradNames(c), cot);
      const want = await runOn('native', transposed(c), x, gradNames(c), cot);
      expectSameBits(got, want, c.name);
    });
  });

  it('bit-identical with 1 and 2 threads (key-chunked backward, causal, mask, bias)', async () => {
    const c: Case = {
      name: 'long',
      B: 1,
      H: 2,
      Tq: 517,
      Tk: 517,
      D: 24,
      causal: true,
      mask: true,
      bias: [517, 517],
    };
    const x = inputsOf(c, 300);
    const cot = cotangent(c, 300);
    await expectSameBitsAcrossThreads(() => runOn('native', bthd(c), x, gradNames(c), cot));
  });

  it('headDim > 256 takes the composite path and still matches', async () => {
    const c: Case = { name: 'D = 260', B: 1, H: 2, Tq: 5, Tk: 7, D: 260, causal: true };
    const x = inputsOf(c, 400);
    const cot = cotangent(c, 400);
    const got = await runOn('native', bthd(c), x, gradNames(c), cot);
    const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
    const { nOut, nGrad } = lengths(c);
    expectMatchesReference(got, want, nOut, nGrad, c.name);
  });

  it('runs one FusedAttention kernel and no Transpose', async () => {
    const q = tf.randomNormal([2, 9, 3, 8]) as tf.Tensor4D;
    const info = await tf.profile(() => fusedAttention(q, q, q, { layout: 'bthd' }));
    const names = info.kernelNames;
    tf.dispose([info.result as tf.Tensor, q]);
    expect(names.filter((n) => n === 'FusedAttention')).toHaveLength(1);
    expect(names).not.toContain('Transpose');
  });

  it('validation names the layout and the shapes', () => {
    tf.tidy(() => {
      const q = tf.zeros([2, 5, 3, 8]) as tf.Tensor4D; // [B,Tq,H,D]
      const k = tf.zeros([2, 7, 4, 8]) as tf.Tensor4D; // 4 heads: mismatch
      expect(() => fusedAttention(q, k, k, { layout: 'bthd' })).toThrow(
        /^fusedAttention: k must be \[batch, kLen, heads, headDim\] with the batch, heads and headDim of q \(layout bthd; got q \[2,5,3,8\] float32, k \[2,7,4,8\]/,
      );
      const mask = tf.zeros([2, 5], 'bool'); // [B,Tq] instead of [B,Tk]
      const kk = tf.zeros([2, 7, 3, 8]) as tf.Tensor4D;
      expect(() => fusedAttention(q, kk, kk, { layout: 'bthd', keyPaddingMask: mask })).toThrow(
        /keyPaddingMask must be \[batch, kLen\] \(layout bthd; .*keyPaddingMask \[2,5\] bool/,
      );
      expect(() => fusedAttention(q, kk, kk, { layout: 'bhdt' as never })).toThrow(
        /layout must be one of bhtd, bthd/,
      );
    });
  });
});

describe("fusedAttention layout 'bthd' on tfjs-cpu", () => {
  it('is the composite reference (same ops, same bits)', async () => {
    const c = cases[2];
    const x = inputsOf(c, 500);
    const cot = cotangent(c, 500);
    const got = await runOn('cpu', bthd(c), x, gradNames(c), cot);
    const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
    expectSameBits(got, want, c.name);
  });
});
