/**
 * Determinism of the native attention backward (bit-identical results across runs and thread counts,
 * needed to replay a training run's loss sequence after a crash) and the lazy bias gradient (a constant
 * mask must not run the bias-grad kernel).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type AttentionArgs, loadAddon } from './addon.js';
import { setThreads } from './backend.js';
import { attentionBias } from './ops/attention_bias.js';
import { fusedAttention } from './ops/fused_attention.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

const native = nativeAvailable();

/** Bitwise equality of two float arrays (NaN payloads and the sign of zero included). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

interface Grads {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  dbias?: Float32Array; // from attentionBackward's dbias argument
  dbiasLazy?: Float32Array; // from attentionBiasGrad
}

interface Problem {
  args: AttentionArgs;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
  out: Float32Array;
  lse: Float32Array;
}

function problem(
  B: number,
  H: number,
  Tq: number,
  Tk: number,
  D: number,
  opts: { causal?: boolean; pad?: boolean; biasShape?: [number, number, number, number] } = {},
): Problem {
  const rng = makeRng(B * 1000 + Tk);
  const args: AttentionArgs = {
    batch: B,
    heads: H,
    qLen: Tq,
    kLen: Tk,
    headDim: D,
    scale: 1 / Math.sqrt(D),
    causal: !!opts.causal,
  };
  if (opts.pad) {
    args.keyPaddingMask = new Uint8Array(B * Tk);
    for (let b = 0; b < B; b++) for (let j = Tk - 1 - 5 * b; j < Tk; j++) args.keyPaddingMask[b * Tk + j] = 1;
  }
  if (opts.biasShape) {
    // shape with 1 = broadcast; contiguous strides, 0 on the broadcast dimensions
    const shape = opts.biasShape;
    const strides: [number, number, number, number] = [0, 0, 0, 0];
    let n = 1;
    for (let i = 3; i >= 0; i--) {
      strides[i] = shape[i] === 1 ? 0 : n;
      n *= shape[i];
    }
    const bias = rng.normals(n);
    for (let i = 0; i < n; i += 9) bias[i] = -Infinity;
    args.bias = bias;
    args.biasStrides = strides;
  }
  const nq = B * H * Tq * D;
  const nk = B * H * Tk * D;
  const p: Problem = {
    args,
    q: rng.normals(nq),
    k: rng.normals(nk),
    v: rng.normals(nk),
    dout: rng.normals(nq),
    out: new Float32Array(nq),
    lse: new Float32Array(B * H * Tq),
  };
  loadAddon().attentionForward(args, p.q, p.k, p.v, p.out, p.lse);
  return p;
}

function backward(p: Problem): Grads {
  const addon = loadAddon();
  const g: Grads = {
    dq: new Float32Array(p.q.length),
    dk: new Float32Array(p.k.length),
    dv: new Float32Array(p.v.length),
  };
  if (p.args.bias) {
    g.dbias = new Float32Array(p.args.bias.length); // accumulated into
    g.dbiasLazy = new Float32Array(p.args.bias.length).fill(Number.NaN); // overwritten
    addon.attentionBiasGrad(p.args, p.q, p.k, p.v, p.out, p.lse, p.dout, g.dbiasLazy);
  }
  addon.attentionBackward(p.args, p.q, p.k, p.v, p.out, p.lse, p.dout, g.dq, g.dk, g.dv, g.dbias ?? null);
  return g;
}

function expectSameGrads(a: Grads, b: Grads, what: string): void {
  for (const key of ['dq', 'dk', 'dv', 'dbias', 'dbiasLazy'] as const) {
    const x = a[key];
    const y = b[key];
    expect(x === undefined, `${what}: ${key} presence`).toBe(y === undefined);
    if (x && y) expect(sameBits(x, y), `${what}: ${key} differs`).toBe(true);
  }
}

describe.skipIf(!native)('attention backward determinism (addon)', () => {
  afterAll(() => setThreads(0));

  const cases: { name: string; make: () => Problem }[] = [
    // batch*heads = 1 with long keys: one head is split over key chunks whose dQ partials are reduced
    { name: 'batch*heads = 1, long keys', make: () => problem(1, 1, 96, 1100, 32) },
    {
      name: 'batch*heads = 1, long keys, causal + padding',
      make: () => problem(1, 1, 900, 1000, 24, { causal: true, pad: true }),
    },
    // bias broadcast over batch and heads ([Tq,Tk], the GR-1 mask layout) and over batch and queries
    {
      name: 'bias [Tq,Tk] broadcast over batch and heads',
      make: () => problem(2, 3, 150, 140, 16, { biasShape: [1, 1, 150, 140], pad: true }),
    },
    {
      name: 'bias [1,H,1,Tk] broadcast over batch and queries, causal',
      make: () => problem(2, 3, 130, 200, 16, { causal: true, biasShape: [1, 3, 1, 200] }),
    },
    { name: 'bias [B,1,Tq,1]', make: () => problem(2, 2, 70, 300, 8, { biasShape: [2, 1, 70, 1] }) },
  ];

  for (const c of cases) {
    it(`${c.name}: bit-identical across runs with 2 and 1 threads, and across thread counts`, () => {
      const p = c.make();
      setThreads(2);
      const a1 = backward(p);
      const a2 = backward(p);
      setThreads(1);
      const b1 = backward(p);
      const b2 = backward(p);
      expectSameGrads(a1, a2, '2 threads, run 1 vs run 2');
      expectSameGrads(b1, b2, '1 thread, run 1 vs run 2');
      expectSameGrads(a1, b1, '2 threads vs 1 thread');
      if (a1.dbias && a1.dbiasLazy) {
        // same fixed-order pass: the accumulated dbias of attentionBackward equals attentionBiasGrad's
        expect(sameBits(a1.dbias, a1.dbiasLazy)).toBe(true);
        expect(a1.dbiasLazy.every(Number.isFinite)).toBe(true);
      }
    });
  }
});

describe.skipIf(!native)('fusedAttention gradients (native backend)', () => {
  useBackend('native', () => setThreads(0));
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const [B, H, T, D] = [2, 2, 80, 16];
  function inputs() {
    const rng = makeRng(42);
    return {
      q: tf.tensor4d(rng.normals(B * H * T * D), [B, H, T, D]),
      k: tf.tensor4d(rng.normals(B * H * T * D), [B, H, T, D]),
      v: tf.tensor4d(rng.normals(B * H * T * D), [B, H, T, D]),
      bias: tf.tensor2d(rng.normals(T * T), [T, T]),
    };
  }

  it('tf.grads w.r.t. q, k, v and bias is bit-identical across runs and thread counts', () => {
    const { q, k, v, bias } = inputs();
    const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(
        tf.square(
          fusedAttention(qq as tf.Tensor4D, kk as tf.Tensor4D, vv as tf.Tensor4D, { bias: bb, causal: true }),
        ),
      );
    const run = () => {
      const gs = tf.grads(f)([q, k, v, bias]);
      const data = gs.map((g) => g.dataSync() as Float32Array);
      tf.dispose(gs);
      return data;
    };
    setThreads(2);
    const a = run();
    const b = run();
    setThreads(1);
    const c = run();
    for (let i = 0; i < a.length; i++) {
      expect(sameBits(a[i], b[i]), `gradient ${i}: run 1 vs run 2`).toBe(true);
      expect(sameBits(a[i], c[i]), `gradient ${i}: 2 threads vs 1 thread`).toBe(true);
    }
    tf.dispose([q, k, v, bias]);
  });

  it('a constant mask bias does not run the bias-grad kernel; a differentiated bias runs it once', () => {
    const addon = loadAddon();
    const biasGrad = vi.spyOn(addon, 'attentionBiasGrad');
    const backwardSpy = vi.spyOn(addon, 'attentionBackward');
    const { q, k, v, bias } = inputs();
    const isQuery = Array.from({ length: T }, (_, i) => i % 5 === 4);
    const mask = attentionBias.hideQueryTokens(isQuery, { causal: true }); // GR-1: -Infinity entries
    const loss = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(fusedAttention(qq as tf.Tensor4D, kk as tf.Tensor4D, vv as tf.Tensor4D, { bias: bb }));

    // constant mask: gradients of q, k, v only (what an optimizer over q/k/v-producing variables asks)
    const g1 = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => loss(qq, kk, vv, mask))([q, k, v]);
    expect(backwardSpy).toHaveBeenCalledTimes(1);
    expect(backwardSpy.mock.calls[0][10]).toBeNull(); // no dbias requested from the main backward
    expect(biasGrad).not.toHaveBeenCalled();

    // variables and a constant mask, the training-loop path
    const qv = tf.variable(q);
    const vg = tf.variableGrads(() => loss(qv, k, v, mask) as tf.Scalar, [qv]);
    expect(biasGrad).not.toHaveBeenCalled();
    expect(backwardSpy).toHaveBeenCalledTimes(2);

    // a learned bias: its thunk runs the kernel (once)
    const g2 = tf.grads((qq: tf.Tensor, bb: tf.Tensor) => loss(qq, k, v, bb))([q, bias]);
    expect(biasGrad).toHaveBeenCalledTimes(1);
    expect(g2[1].shape).toEqual([T, T]);
    expect(g2[1].dataSync().every(Number.isFinite)).toBe(true);

    tf.dispose([...g1, ...g2, vg.value, ...Object.values(vg.grads), qv, q, k, v, bias, mask]);
  });
});
