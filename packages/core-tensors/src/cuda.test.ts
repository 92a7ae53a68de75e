/** CUDA kernels against the CPU kernels (skipped cleanly without a GPU). */
import { describe, expect, it } from 'vitest';
import { type AttentionArgs, loadAddon } from './addon.js';
import { cuda } from './cuda.js';
import { compareArrays } from './test-utils/check_op.js';
import { makeRng } from './test-utils/rng.js';

const available = cuda.available();

describe('CUDA kernels', () => {
  it('cuda.available() is a boolean and false without a device', () => {
    expect(typeof available).toBe('boolean');
  });

  for (const [name, causal, withMask, withBias] of [
    ['plain', false, false, false],
    ['causal + padding + broadcast bias', true, true, true],
  ] as const) {
    it.skipIf(!available)(`attention forward matches the CPU kernel: ${name}`, () => {
      const rng = makeRng(1);
      const [B, H, Tq, Tk, D] = [2, 3, 17, 33, 64];
      const args: AttentionArgs = {
        batch: B,
        heads: H,
        qLen: Tq,
        kLen: Tk,
        headDim: D,
        scale: 1 / 8,
        causal,
      };
      if (withMask)
        args.keyPaddingMask = Uint8Array.from({ length: B * Tk }, (_, i) => (i % 7 === 3 ? 1 : 0));
      if (withBias) {
        args.bias = Float32Array.from({ length: H * Tq * Tk }, (_, i) =>
          i % 11 === 5 ? -Infinity : rng.normal(),
        );
        args.biasStrides = [0, Tq * Tk, Tk, 1];
      }
      const q = rng.normals(B * H * Tq * D);
      const k = rng.normals(B * H * Tk * D);
      const v = rng.normals(B * H * Tk * D);
      const out = new Float32Array(q.length);
      const lse = new Float32Array(B * H * Tq);
      loadAddon().attentionForward(args, q, k, v, out, lse);
      const gpu = cuda.attentionForward(args, q, k, v);
      expect(compareArrays(gpu.out, out, 1e-4, 1e-3).ok).toBe(true);
      expect(compareArrays(gpu.lse, lse, 1e-4, 1e-4).ok).toBe(true);
    });
  }

  it.skipIf(!available)('residual compose matches the CPU kernel', () => {
    const rng = makeRng(2);
    const [rows, armDim] = [257, 7];
    const args = {
      rows,
      armDim,
      scale: rng.normals(armDim),
      shift: rng.normals(armDim),
      low: Float32Array.from({ length: armDim }, () => -1),
      high: Float32Array.from({ length: armDim }, () => 1),
    };
    const anchor = rng.normals(rows * armDim);
    const delta = rng.normals(rows * armDim, 0.2);
    const gripLogit = rng.normals(rows, 2);
    const gripDelta = rng.normals(rows, 0.2);
    const arm = new Float32Array(rows * armDim);
    const prob = new Float32Array(rows);
    const closed = new Uint8Array(rows);
    loadAddon().residualCompose(args, anchor, delta, gripLogit, gripDelta, arm, prob, closed);
    const gpu = cuda.residualCompose(args, anchor, delta, gripLogit, gripDelta);
    expect(compareArrays(gpu.arm, arm, 1e-6, 1e-6).ok).toBe(true);
    expect(compareArrays(gpu.prob, prob, 1e-6, 1e-6).ok).toBe(true);
    expect(Array.from(gpu.closed)).toEqual(Array.from(closed));
  });

  it.skipIf(available)('the CUDA wrappers throw a clear error without a device', () => {
    let addonLoads = true;
    try {
      loadAddon();
    } catch {
      addonLoads = false;
    }
    const args = { batch: 1, heads: 1, qLen: 1, kLen: 1, headDim: 1, scale: 1, causal: false };
    const one = new Float32Array(1);
    expect(() => cuda.attentionForward(args, one, one, one)).toThrow(
      addonLoads ? /cuda|device|compiled/i : /addon not found/,
    );
  });
});
