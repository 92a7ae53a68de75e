import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { MultiHeadAttention } from './attention.js';

/** Per-head softmax(q·kᵀ/√Dh)·v written head by head with slices (independent of the reshape path). */
function manualAttention(mha: MultiHeadAttention, x: tf.Tensor3D, context: tf.Tensor3D): tf.Tensor {
  return tf.tidy(() => {
    const q = mha.q_proj!.forward(x);
    const k = mha.k_proj!.forward(context);
    const v = mha.v_proj!.forward(context);
    const [b, tq] = x.shape;
    const tk = context.shape[1];
    const dh = mha.headDim;
    const outs: tf.Tensor[] = [];
    for (let h = 0; h < mha.heads; h++) {
      const qh = tf.slice(q, [0, 0, h * dh], [b, tq, dh]);
      const kh = tf.slice(k, [0, 0, h * dh], [b, tk, dh]);
      const vh = tf.slice(v, [0, 0, h * dh], [b, tk, dh]);
      const p = tf.softmax(tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(dh)));
      outs.push(tf.matMul(p, vh));
    }
    return mha.out_proj.forward(tf.concat(outs, -1));
  });
}

describe('MultiHeadAttention', () => {
  it('uses PyTorch projection names, or a fused qkv', () => {
    const a = new MultiHeadAttention(8, 2, { rng: new Rng(0) });
    expect(a.namedParameters().map(([n]) => n)).toEqual([
      'q_proj.weight',
      'q_proj.bias',
      'k_proj.weight',
      'k_proj.bias',
      'v_proj.weight',
      'v_proj.bias',
      'out_proj.weight',
      'out_proj.bias',
    ]);
    const f = new MultiHeadAttention(8, 2, { fusedQkv: true, bias: false, rng: new Rng(0) });
    expect(f.namedParameters().map(([n]) => n)).toEqual(['qkv.weight', 'out_proj.weight']);
    expect(f.qkv!.weight.shape).toEqual([24, 8]);
    a.dispose();
    f.dispose();
  });

  it('cross-attends with Tq ≠ Tk and kvDim ≠ dim, matching a per-head manual computation', () => {
    const mha = new MultiHeadAttention(8, 2, { kvDim: 6, rng: new Rng(1) });
    const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const ctx = tf.randomNormal([2, 5, 6], 0, 1, 'float32', 2) as tf.Tensor3D;
    const y = mha.forward(x, { context: ctx });
    expect(y.shape).toEqual([2, 3, 8]);
    const ref = manualAttention(mha, x, ctx);
    tf.test_util.expectArraysClose(y.dataSync(), ref.dataSync(), 1e-4);
    tf.dispose([x, ctx, y, ref]);
    mha.dispose();
  });

  it('fused qkv gives the same output as separate projections holding the same weights', () => {
    const sep = new MultiHeadAttention(8, 4, { rng: new Rng(2) });
    const fused = new MultiHeadAttention(8, 4, { fusedQkv: true, rng: new Rng(3) });
    const sd = sep.stateDict();
    const qkvW = tf.concat([sd.get('q_proj.weight')!, sd.get('k_proj.weight')!, sd.get('v_proj.weight')!], 0);
    const qkvB = tf.concat([sd.get('q_proj.bias')!, sd.get('k_proj.bias')!, sd.get('v_proj.bias')!], 0);
    fused.loadStateDict({
      'qkv.weight': qkvW,
      'qkv.bias': qkvB,
      'out_proj.weight': sd.get('out_proj.weight')!,
      'out_proj.bias': sd.get('out_proj.bias')!,
    });
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 3);
    const a = sep.forward(x, { causal: true });
    const b = fused.forward(x, { causal: true });
    tf.test_util.expectArraysClose(a.dataSync(), b.dataSync(), 1e-5);
    expect(() => fused.forward(x, { context: x })).toThrow(/cannot attend to a context/);
    tf.dispose([qkvW, qkvB, x, a, b]);
    sep.dispose();
    fused.dispose();
  });

  it('ignores padded keys', () => {
    const mha = new MultiHeadAttention(4, 2, { rng: new Rng(4) });
    const x = tf.randomNormal([1, 2, 4], 0, 1, 'float32', 4);
    const ctxA = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 5);
    // Same context except the last (padded) key.
    const ctxB = tf.tidy(() => tf.concat([tf.slice(ctxA, [0, 0, 0], [1, 2, 4]), tf.fill([1, 1, 4], 7)], 1));
    const mask = tf.tensor2d([[false, false, true]], [1, 3], 'bool');
    const a = mha.forward(x, { context: ctxA, keyPaddingMask: mask });
    const b = mha.forward(x, { context: ctxB, keyPaddingMask: mask });
    tf.test_util.expectArraysClose(a.dataSync(), b.dataSync(), 1e-6);
    tf.dispose([x, ctxA, ctxB, mask, a, b]);
    mha.dispose();
  });

  it('an additive −Infinity bias masks like keyPaddingMask', () => {
    const mha = new MultiHeadAttention(4, 2, { rng: new Rng(5) });
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6);
    const mask = tf.tensor2d(
      [
        [false, true, false],
        [false, false, true],
      ],
      [2, 3],
      'bool',
    );
    // [B, 1, 1, Tk] broadcast over heads and queries
    const bias = tf.tidy(() =>
      tf.reshape(tf.where(mask, tf.fill([2, 3], -Infinity), tf.zeros([2, 3])), [2, 1, 1, 3]),
    );
    const a = mha.forward(x, { keyPaddingMask: mask, causal: true });
    const b = mha.forward(x, { bias, causal: true });
    tf.test_util.expectArraysClose(a.dataSync(), b.dataSync(), 1e-5);
    tf.dispose([x, mask, bias, a, b]);
    mha.dispose();
  });

  it('moves no heads: forward and backward run no Transpose, SplitV or Concat on the native backend', async () => {
    if (tf.getBackend() !== 'native') return; // the composite path transposes by design
    for (const fusedQkv of [false, true]) {
      const mha = new MultiHeadAttention(12, 3, { fusedQkv, rng: new Rng(7) });
      const x = tf.randomNormal([2, 7, 12], 0, 1, 'float32', 7);
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(mha.forward(x, { causal: true }))));
        return [value, ...Object.values(grads)];
      });
      tf.dispose(info.result as tf.Tensor[]);
      const names = info.kernelNames;
      const attn = fusedQkv ? 'FusedSelfAttentionPacked' : 'FusedAttention';
      expect(names, `fusedQkv ${fusedQkv}`).toContain(attn);
      expect(names, `fusedQkv ${fusedQkv}`).toContain(`${attn}Grad`);
      for (const n of ['Transpose', 'SplitV', 'Concat'])
        expect(names, `fusedQkv ${fusedQkv}`).not.toContain(n);
      x.dispose();
      mha.dispose();
    }
  });

  it('checks shapes', () => {
    expect(() => new MultiHeadAttention(6, 4)).toThrow(/not divisible/);
    const mha = new MultiHeadAttention(4, 2, { rng: new Rng(0) });
    const x = tf.zeros([2, 4]);
    expect(() => mha.forward(x)).toThrow(/\[B, T, 4\]/);
    x.dispose();
    mha.dispose();
  });
});
