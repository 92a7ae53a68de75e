/**
 * The addon's attention layout strides (AttentionArgs.qStrides / kStrides / vStrides / outStrides,
 * ct_attention_desc.q_strides …) at the array level: strided calls give the bits of the dense
 * [B,H,T,D] call on transposed copies; outputs are written exactly at the elements their strides
 * address (garbage-filled buffers, interleaved dq/dk/dv views of one buffer, an unaddressed slot that
 * must keep its sentinel); bad strides are rejected before any memory is touched.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type AttentionArgs, type LayoutStrides, loadAddon } from './addon.js';
import { setThreads } from './backend.js';
import { sameBits } from './test-utils/attention_oracle.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

const native = nativeAvailable();
const GARBAGE = 12345.5; // exact in float32

/** Element (b, h, t, c) of an operand with layout strides s (headDim contiguous). */
const at = (s: LayoutStrides, b: number, h: number, t: number, c: number) =>
  b * s[0] + h * s[1] + t * s[2] + c;

/** Copies a strided operand into a dense [B,H,T,D] array. */
function gather(
  src: Float32Array,
  s: LayoutStrides,
  B: number,
  H: number,
  T: number,
  D: number,
): Float32Array {
  const out = new Float32Array(B * H * T * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let c = 0; c < D; c++) out[((b * H + h) * T + t) * D + c] = src[at(s, b, h, t, c)];
  return out;
}

interface Packed {
  args: AttentionArgs;
  dense: AttentionArgs;
  qkv: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array; // [B,T,H,D]
  strides: LayoutStrides; // q/k/v inside qkv
  outStrides: LayoutStrides; // [B,T,H,D]
}

/** Self-attention over a packed [B,T,3,H,D] qkv with causal masking, padding and a [T,T] bias. */
function packedProblem(B: number, T: number, H: number, D: number): Packed {
  const rng = makeRng(B * 131 + T * 7 + H * 3 + D);
  const hd = H * D;
  const qkv = rng.normals(B * T * 3 * hd);
  const strides: LayoutStrides = [T * 3 * hd, D, 3 * hd];
  const outStrides: LayoutStrides = [T * hd, D, hd];
  const keyPaddingMask = Uint8Array.from({ length: B * T }, (_, i) => (i % 5 === 4 ? 1 : 0));
  const bias = rng.normals(T * T);
  const dense: AttentionArgs = {
    batch: B,
    heads: H,
    qLen: T,
    kLen: T,
    headDim: D,
    scale: 1 / Math.sqrt(D),
    causal: true,
    keyPaddingMask,
    bias,
    biasStrides: [0, 0, T, 1],
  };
  const args: AttentionArgs = {
    ...dense,
    qStrides: strides,
    kStrides: strides,
    vStrides: strides,
    outStrides,
  };
  return {
    args,
    dense,
    qkv,
    q: qkv.subarray(0),
    k: qkv.subarray(hd),
    v: qkv.subarray(2 * hd),
    dout: rng.normals(B * T * hd),
    strides,
    outStrides,
  };
}

describe.skipIf(!native)('attention layout strides (addon)', () => {
  afterAll(() => setThreads(0));

  it('packed forward and backward: the dense call on transposed copies, every element of dqkv written', () => {
    const addon = loadAddon();
    for (const [B, T, H, D] of [
      [2, 37, 3, 16],
      [1, 130, 2, 20],
      [3, 5, 1, 72],
    ]) {
      const p = packedProblem(B, T, H, D);
      // dense reference: q/k/v/dout gathered into [B,H,T,D]
      const [dq0, dk0, dv0] = [p.q, p.k, p.v].map((x) => gather(x, p.strides, B, H, T, D));
      const dout0 = gather(p.dout, p.outStrides, B, H, T, D);
      const out0 = new Float32Array(B * H * T * D);
      const lse0 = new Float32Array(B * H * T);
      addon.attentionForward(p.dense, dq0, dk0, dv0, out0, lse0);
      const g0 = [0, 1, 2].map(() => new Float32Array(B * H * T * D));
      addon.attentionBackward(p.dense, dq0, dk0, dv0, out0, lse0, dout0, g0[0], g0[1], g0[2], null);

      // strided: out [B,T,H,D] and dqkv [B,T,3,H,D] into garbage-filled buffers
      const out = new Float32Array(B * T * H * D).fill(GARBAGE);
      const lse = new Float32Array(B * H * T).fill(GARBAGE);
      addon.attentionForward(p.args, p.q, p.k, p.v, out, lse);
      expect(sameBits(gather(out, p.outStrides, B, H, T, D), out0), `out ${[B, T, H, D]}`).toBe(true);
      expect(sameBits(lse, lse0)).toBe(true);
      const dqkv = new Float32Array(p.qkv.length).fill(GARBAGE);
      const hd = H * D;
      const views = [dqkv.subarray(0), dqkv.subarray(hd), dqkv.subarray(2 * hd)];
      addon.attentionBackward(p.args, p.q, p.k, p.v, out, lse, p.dout, views[0], views[1], views[2], null);
      expect(dqkv.includes(GARBAGE), 'an element of dqkv was not written').toBe(false);
      views.forEach((view, i) => {
        expect(sameBits(gather(view, p.strides, B, H, T, D), g0[i]), `d${'qkv'[i]} ${[B, T, H, D]}`).toBe(
          true,
        );
      });
    }
  });

  it('packed backward is bit-identical with 1 and 2 threads (key chunks, dQ partials)', () => {
    const addon = loadAddon();
    const [B, T, H, D] = [1, 600, 2, 24];
    const p = packedProblem(B, T, H, D);
    const out = new Float32Array(B * T * H * D);
    const lse = new Float32Array(B * H * T);
    addon.attentionForward(p.args, p.q, p.k, p.v, out, lse);
    const run = () => {
      const dqkv = new Float32Array(p.qkv.length).fill(GARBAGE);
      const hd = H * D;
      addon.attentionBackward(
        p.args,
        p.q,
        p.k,
        p.v,
        out,
        lse,
        p.dout,
        dqkv.subarray(0),
        dqkv.subarray(hd),
        dqkv.subarray(2 * hd),
        null,
      );
      return dqkv;
    };
    setThreads(2);
    const a = run();
    setThreads(1);
    const b = run();
    setThreads(0);
    expect(a.includes(GARBAGE)).toBe(false);
    expect(sameBits(a, b)).toBe(true);
  });

  it('writes only the addressed elements: dk/dv in slots 1 and 2 of [B,Tk,3,H,D] leave slot 0 alone (also with Tq = 0)', () => {
    const addon = loadAddon();
    const [B, Tk, H, D] = [2, 9, 2, 8];
    const rng = makeRng(3);
    const hd = H * D;
    const kvStrides: LayoutStrides = [Tk * 3 * hd, D, 3 * hd];
    const kv = rng.normals(B * Tk * 3 * hd);
    for (const Tq of [0, 4]) {
      const args: AttentionArgs = {
        batch: B,
        heads: H,
        qLen: Tq,
        kLen: Tk,
        headDim: D,
        scale: 0.5,
        causal: false,
        kStrides: kvStrides,
        vStrides: kvStrides,
      };
      const q = rng.normals(B * H * Tq * D); // dense [B,H,Tq,D]
      const out = new Float32Array(B * H * Tq * D);
      const lse = new Float32Array(B * H * Tq);
      addon.attentionForward(args, q, kv.subarray(hd), kv.subarray(2 * hd), out, lse);
      const dq = new Float32Array(q.length);
      const dkv = new Float32Array(kv.length).fill(GARBAGE);
      const dout = rng.normals(out.length);
      addon.attentionBackward(
        args,
        q,
        kv.subarray(hd),
        kv.subarray(2 * hd),
        out,
        lse,
        dout,
        dq,
        dkv.subarray(hd),
        dkv.subarray(2 * hd),
        null,
      );
      for (let b = 0; b < B; b++)
        for (let t = 0; t < Tk; t++)
          for (let slot = 0; slot < 3; slot++)
            for (let e = 0; e < hd; e++) {
              const x = dkv[((b * Tk + t) * 3 + slot) * hd + e];
              if (slot === 0) expect(x).toBe(GARBAGE);
              else {
                expect(x).not.toBe(GARBAGE);
                if (Tq === 0) expect(x).toBe(0);
              }
            }
    }
  });

  it('rejects bad strides before touching memory, naming the argument and the shapes', () => {
    const addon = loadAddon();
    const p = packedProblem(1, 4, 2, 8);
    const out = new Float32Array(4 * 2 * 8);
    const lse = new Float32Array(2 * 4);
    // the view is one element short of what the strides address
    expect(() => addon.attentionForward(p.args, p.q, p.k, p.v.subarray(0, p.v.length - 1), out, lse)).toThrow(
      /^attentionForward: v has 159 floats, but args\.vStrides \[192, 8, 48\] address element 159 \(batch=1, heads=2, qLen=4, kLen=4, headDim=8\)/,
    );
    expect(() =>
      addon.attentionForward({ ...p.args, qStrides: [1, 2] as never }, p.q, p.k, p.v, out, lse),
    ).toThrow(/args\.qStrides must have 3 entries, got 2/);
    expect(() =>
      addon.attentionForward({ ...p.args, kStrides: [192, -8, 48] }, p.q, p.k, p.v, out, lse),
    ).toThrow(/args\.kStrides\[1\] must be >= 0/);
    // an output layout that overlaps itself (heads 4 floats apart, headDim 8)
    expect(() =>
      addon.attentionForward({ ...p.args, outStrides: [64, 4, 16] }, p.q, p.k, p.v, out, lse),
    ).toThrow(/o_strides \{64, 4, 16\} address some element twice/);
    // a backward whose dk layout overlaps itself (all heads on one row)
    const z = new Float32Array(p.qkv.length);
    expect(() =>
      addon.attentionBackward(
        { ...p.args, kStrides: [192, 0, 48] },
        p.q,
        p.k,
        p.v,
        out,
        lse,
        out,
        z,
        z,
        z,
        null,
      ),
    ).toThrow(/k_strides \{192, 0, 48\} address some element twice/);
    // ... which the forward accepts: a read-only layout may broadcast (one key head shared by all)
    expect(() =>
      addon.attentionForward({ ...p.args, kStrides: [192, 0, 48] }, p.q, p.k, p.v, out, lse),
    ).not.toThrow();
  });

  it('cudaAttentionForward takes dense layouts only', () => {
    const addon = loadAddon();
    const p = packedProblem(1, 4, 2, 8);
    const out = new Float32Array(4 * 2 * 8);
    const lse = new Float32Array(2 * 4);
    const call = () => addon.cudaAttentionForward(p.args, p.q, p.k, p.v, out, lse);
    if (addon.features().cudaCompiled) {
      expect(call).toThrow(/q_strides \{192, 8, 48\}: strided layouts are not supported on CUDA/);
    } else {
      expect(call).toThrow(/built without CUDA/);
    }
  });
});
