/**
 * fusedSelfAttentionPacked(qkv [B,T,3·H·D], heads) → [B,T,H·D]: one native kernel forward and one
 * backward writing dqkv directly. Checked, forward and gradients (qkv, bias), against
 *   - the composite reference on tfjs-cpu (float32-accumulation tolerance),
 *   - today's path on the native backend, tf.split + head transposes + fusedAttention (bit for bit),
 *   - itself with 1 and 2 threads (bit for bit),
 * plus: no split/transpose/concat kernels run, a pooled (NaN-filled) dqkv is fully overwritten, and a
 * constant mask costs no bias-gradient pass.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadAddon } from './addon.js';
import { setThreads } from './backend.js';
import { fusedAttention } from './ops/fused_attention.js';
import { fusedSelfAttentionPacked } from './ops/fused_self_attention_packed.js';
import { fusedSelfAttentionPackedReference } from './ops/fused_self_attention_packed_reference.js';
import {
  biasInput,
  expectMatchesReference,
  expectSameBits,
  expectSameBitsAcrossThreads,
  type Inputs,
  maskInput,
  normalInput,
  runOn,
  sameBits,
} from './test-utils/attention_oracle.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

const native = nativeAvailable();

interface Case {
  name: string;
  B: number;
  T: number;
  H: number;
  D: number;
  causal?: boolean;
  mask?: boolean;
  /** bias shape, broadcastable to [B,H,T,T] */
  bias?: number[];
  scale?: number;
}

const cases: Case[] = [
  { name: 'plain, odd T', B: 2, T: 37, H: 3, D: 16 },
  { name: 'H = 1, D = 72 > 64, causal', B: 1, T: 23, H: 1, D: 72, causal: true },
  {
    name: 'D = 20 (not a multiple of 8), causal + mask + bias [T,T]',
    B: 2,
    T: 31,
    H: 4,
    D: 20,
    causal: true,
    mask: true,
    bias: [31, 31],
  },
  {
    name: 'mask + bias [B,1,1,T], custom scale',
    B: 3,
    T: 70,
    H: 2,
    D: 12,
    mask: true,
    bias: [3, 1, 1, 70],
    scale: 0.3,
  },
  { name: 'three tiles, D = 130, bias [1,H,T,T]', B: 1, T: 129, H: 2, D: 130, bias: [1, 2, 129, 129] },
  { name: 'T = 1, D = 3, bias [H,1,1]', B: 2, T: 1, H: 2, D: 3, bias: [2, 1, 1] },
];

function inputsOf(c: Case, seed: number): Inputs {
  const rng = makeRng(seed);
  const x: Inputs = { qkv: normalInput(rng, [c.B, c.T, 3 * c.H * c.D]) };
  if (c.mask) x.mask = maskInput(rng, c.B, c.T);
  if (c.bias) x.bias = biasInput(rng, c.bias);
  return x;
}

const gradNames = (c: Case): string[] => (c.bias ? ['qkv', 'bias'] : ['qkv']);
const cotangent = (c: Case, seed: number): Float32Array => makeRng(seed + 7).normals(c.B * c.T * c.H * c.D);

type Fn = (x: Record<string, tf.Tensor>) => tf.Tensor;

function opts(c: Case, x: Record<string, tf.Tensor>) {
  return { causal: c.causal, keyPaddingMask: x.mask, bias: x.bias, scale: c.scale };
}

const packed =
  (c: Case): Fn =>
  (x) =>
    fusedSelfAttentionPacked(x.qkv as tf.Tensor3D, c.H, opts(c, x));

const reference =
  (c: Case): Fn =>
  (x) =>
    fusedSelfAttentionPackedReference(x.qkv as tf.Tensor3D, c.H, opts(c, x));

/** What packages/nn did before: split, head reshapes + transposes, default layout, transpose back. */
const splitAndTranspose =
  (c: Case): Fn =>
  (x) => {
    const heads = (t: tf.Tensor) =>
      tf.transpose(tf.reshape(t, [c.B, c.T, c.H, c.D]), [0, 2, 1, 3]) as tf.Tensor4D; // [B,T,H·D] -> [B,T,H,D] -> [B,H,T,D]
    const [q, k, v] = tf.split(x.qkv, 3, -1); // [B,T,3·H·D] -> 3 x [B,T,H·D]
    const o = fusedAttention(heads(q), heads(k), heads(v), opts(c, x)); // [B,H,T,D]
    return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [c.B, c.T, c.H * c.D]); // [B,T,H,D] -> [B,T,H·D]
  };

function lengths(c: Case): { nOut: number; nGrad: number } {
  const biasTerms = c.bias ? (c.B * c.H * c.T * c.T) / c.bias.reduce((a, b) => a * b, 1) : 0;
  return { nOut: c.T + c.D, nGrad: 2 * c.T + c.D + biasTerms };
}

describe.skipIf(!native)('fusedSelfAttentionPacked (native)', () => {
  useBackend('native', () => setThreads(0));
  afterEach(() => {
    vi.restoreAllMocks();
  });

  cases.forEach((c, i) => {
    it(`${c.name}: matches the composite reference on tfjs-cpu`, async () => {
      const x = inputsOf(c, 10 + i);
      const cot = cotangent(c, 10 + i);
      const got = await runOn('native', packed(c), x, gradNames(c), cot);
      const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
      expect(got.outShape).toEqual([c.B, c.T, c.H * c.D]);
      const { nOut, nGrad } = lengths(c);
      expectMatchesReference(got, want, nOut, nGrad, c.name);
    });

    it(`${c.name}: bit-identical to split + head transposes + fusedAttention`, async () => {
      const x = inputsOf(c, 20 + i);
      const cot = cotangent(c, 20 + i);
      const got = await runOn('native', packed(c), x, gradNames(c), cot);
      const want = await runOn('native', splitAndTranspose(c), x, gradNames(c), cot);
      expectSameBits(got, want, c.name);
    });
  });

  it('bit-identical with 1 and 2 threads (key-chunked backward, causal, mask, bias)', async () => {
    const c: Case = { name: 'long', B: 1, T: 517, H: 2, D: 24, causal: true, mask: true, bias: [517, 517] };
    const x = inputsOf(c, 30);
    const cot = cotangent(c, 30);
    await expectSameBitsAcrossThreads(() => runOn('native', packed(c), x, gradNames(c), cot));
  });

  it('headDim > 256 takes the composite path and still matches', async () => {
    const c: Case = { name: 'D = 260', B: 1, T: 6, H: 2, D: 260, causal: true };
    const x = inputsOf(c, 40);
    const cot = cotangent(c, 40);
    const got = await runOn('native', packed(c), x, gradNames(c), cot);
    const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
    const { nOut, nGrad } = lengths(c);
    expectMatchesReference(got, want, nOut, nGrad, c.name);
  });

  it('forward and backward run one kernel each and no split, transpose or concat', async () => {
    const qkv = tf.randomNormal([2, 9, 3 * 3 * 8]) as tf.Tensor3D;
    const info = await tf.profile(() => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(fusedSelfAttentionPacked(x as tf.Tensor3D, 3))))(
        qkv,
      );
      return g;
    });
    const names = info.kernelNames;
    tf.dispose([info.result as tf.Tensor, qkv]);
    expect(names.filter((n) => n === 'FusedSelfAttentionPacked')).toHaveLength(1);
    expect(names.filter((n) => n === 'FusedSelfAttentionPackedGrad')).toHaveLength(1);
    for (const n of ['Transpose', 'SplitV', 'Concat', 'Slice', 'FusedAttention'])
      expect(names).not.toContain(n);
  });

  it('a pooled dqkv (NaN-filled under IS_TEST) is overwritten everywhere', () => {
    const c: Case = { name: 'pool', B: 2, T: 70, H: 3, D: 20, causal: true, mask: true };
    const rng = makeRng(50);
    const qkv = tf.tensor3d(rng.normals(c.B * c.T * 3 * c.H * c.D), [c.B, c.T, 3 * c.H * c.D]);
    const mask = tf.tensor2d(maskInput(rng, c.B, c.T).values, [c.B, c.T], 'bool');
    const grad = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.square(fusedSelfAttentionPacked(x as tf.Tensor3D, c.H, { causal: true, keyPaddingMask: mask })),
      ),
    );
    // the array each backward writes dqkv into (dq is the view at offset 0)
    const addon = loadAddon();
    const dqkvBuffers: ArrayBufferLike[] = [];
    const backward = addon.attentionBackward.bind(addon);
    vi.spyOn(addon, 'attentionBackward').mockImplementation((...a: Parameters<typeof backward>) => {
      dqkvBuffers.push(a[7].buffer);
      backward(...a);
    });
    const first = grad(qkv);
    const want = first.dataSync().slice() as Float32Array; // read: this array is exposed and never reused
    first.dispose();
    grad(qkv).dispose(); // unread: its dqkv array goes back to the pool
    const again = grad(qkv); // takes that array from the pool, NaN-filled (IS_TEST)
    expect(dqkvBuffers).toHaveLength(3);
    expect(dqkvBuffers[2]).toBe(dqkvBuffers[1]); // the pooled array was reused
    const got = again.dataSync() as Float32Array;
    expect(got.every(Number.isFinite)).toBe(true);
    expect(sameBits(got, want)).toBe(true);
    tf.dispose([again, qkv, mask]);
  });

  it('a constant mask bias costs no bias-gradient pass; a differentiated bias runs it once', () => {
    const addon = loadAddon();
    const biasGrad = vi.spyOn(addon, 'attentionBiasGrad');
    const backward = vi.spyOn(addon, 'attentionBackward');
    const rng = makeRng(60);
    const [B, T, H, D] = [2, 12, 2, 8];
    const qkv = tf.tensor3d(rng.normals(B * T * 3 * H * D), [B, T, 3 * H * D]);
    const bias = tf.tensor2d(rng.normals(T * T), [T, T]);
    const loss = (x: tf.Tensor, b: tf.Tensor) =>
      tf.sum(fusedSelfAttentionPacked(x as tf.Tensor3D, H, { bias: b }));
    const g1 = tf.grad((x: tf.Tensor) => loss(x, bias))(qkv);
    expect(backward).toHaveBeenCalledTimes(1);
    expect(biasGrad).not.toHaveBeenCalled();
    const g2 = tf.grads((x: tf.Tensor, b: tf.Tensor) => loss(x, b))([qkv, bias]);
    expect(biasGrad).toHaveBeenCalledTimes(1);
    expect(g2[1].shape).toEqual([T, T]);
    tf.dispose([g1, ...g2, qkv, bias]);
  });

  it('validation names the layout and the shapes', () => {
    tf.tidy(() => {
      const qkv = tf.zeros([2, 5, 40]) as tf.Tensor3D;
      expect(() => fusedSelfAttentionPacked(qkv, 3)).toThrow(
        /^fusedSelfAttentionPacked: qkv's last dimension 40 must be 3\*heads\*headDim .*\(layout \[B,T,3,H,D\]; got qkv \[2,5,40\] float32, heads 3\)/,
      );
      expect(() => fusedSelfAttentionPacked(tf.zeros([2, 5, 2, 12]) as never, 2)).toThrow(
        /qkv must have rank 3 \[batch, len, 3\*heads\*headDim\].*qkv \[2,5,2,12\]/,
      );
      const ok = tf.zeros([2, 5, 24]) as tf.Tensor3D;
      expect(() => fusedSelfAttentionPacked(ok, 0)).toThrow(/heads must be a positive integer/);
      expect(() => fusedSelfAttentionPacked(ok, 2, { keyPaddingMask: tf.zeros([2, 4], 'bool') })).toThrow(
        /keyPaddingMask must be \[batch, kLen\].*keyPaddingMask \[2,4\] bool/,
      );
      expect(() => fusedSelfAttentionPacked(ok, 2, { bias: tf.zeros([3, 5, 5]) })).toThrow(
        /bias must broadcast to \[batch, heads, qLen, kLen\] = \[2,2,5,5\].*bias \[3,5,5\]/,
      );
    });
  });
});

describe('fusedSelfAttentionPacked on tfjs-cpu', () => {
  it('is the composite reference (same ops, same bits)', async () => {
    const c = cases[2];
    const x = inputsOf(c, 70);
    const cot = cotangent(c, 70);
    const got = await runOn('cpu', packed(c), x, gradNames(c), cot);
    const want = await runOn('cpu', reference(c), x, gradNames(c), cot);
    expectSameBits(got, want, c.name);
  });
});
