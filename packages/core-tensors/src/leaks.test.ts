/**
 * Tensor hygiene beyond the per-test check of tools/vitest.setup.ts: forward + backward of every op
 * several times leaves the tensor count flat, kernels free their intermediates (IS_TEST makes tfjs
 * throw on a kernel-internal leak), and errors leave nothing behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { composeResidual } from './ops/compose_residual.js';
import { fusedAttention } from './ops/fused_attention.js';
import { fusedSelfAttentionPacked } from './ops/fused_self_attention_packed.js';

function stepAttention(): void {
  tf.tidy(() => {
    const q = tf.randomNormal([2, 2, 5, 8]);
    const k = tf.randomNormal([2, 2, 7, 8]);
    const v = tf.randomNormal([2, 2, 7, 8]);
    const bias = tf.randomNormal([5, 7]);
    const mask = tf.tensor2d(
      [
        [0, 0, 1, 0, 0, 0, 1],
        [1, 1, 1, 1, 1, 1, 1],
      ],
      [2, 7],
      'bool',
    );
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(
        fusedAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, {
          bias: d,
          keyPaddingMask: mask,
          causal: true,
        }),
      );
    tf.grads(f)([q, k, v, bias]);
    // only some inputs differentiated: the unused grads of the eager backward must be freed too
    tf.grad((a: tf.Tensor) => f(a, k, v, bias))(q);
  });
}

function stepAttentionLayouts(): void {
  tf.tidy(() => {
    const q = tf.randomNormal([2, 5, 2, 8]); // [B,Tq,H,D]
    const k = tf.randomNormal([2, 7, 2, 8]); // [B,Tk,H,D]
    const qkv = tf.randomNormal([2, 7, 3 * 2 * 8]); // [B,T,3·H·D]
    const bias = tf.randomNormal([7, 7]);
    const mask = tf.tensor2d(
      [
        [0, 0, 1, 0, 0, 0, 1],
        [1, 1, 1, 1, 1, 1, 1],
      ],
      [2, 7],
      'bool',
    );
    const bthd = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        fusedAttention(a as tf.Tensor4D, b as tf.Tensor4D, b as tf.Tensor4D, {
          layout: 'bthd',
          causal: true,
        }),
      );
    tf.grads(bthd)([q, k]);
    const packed = (x: tf.Tensor, b: tf.Tensor) =>
      tf.sum(fusedSelfAttentionPacked(x as tf.Tensor3D, 2, { bias: b, keyPaddingMask: mask, causal: true }));
    tf.grads(packed)([qkv, bias]);
    tf.grad((x: tf.Tensor) => packed(x, bias))(qkv); // constant bias: no dbias pass, nothing left over
  });
}

function stepCompose(): void {
  tf.tidy(() => {
    const anchor = tf.randomNormal([3, 4, 5]);
    const delta = tf.randomNormal([3, 4, 5]);
    const gripLogit = tf.randomNormal([3, 4]);
    const gripDelta = tf.randomNormal([3, 4]);
    const mean = tf.randomNormal([5]) as tf.Tensor1D;
    const f = (a: tf.Tensor, d: tf.Tensor, l: tf.Tensor, g: tf.Tensor, m: tf.Tensor) => {
      const r = composeResidual(
        { anchor: a, delta: d, gripLogit: l, gripDelta: g },
        {
          unnormalize: { mode: 'mean_std', mean: m as tf.Tensor1D, std: [1, 2, 3, 4, 5] },
          bounds: { low: [-2, -2, -2, -2, -2], high: [2, 2, 2, 2, 2] },
        },
      );
      return tf.add(tf.sum(r.arm), tf.sum(r.prob));
    };
    tf.grads(f)([anchor, delta, gripLogit, gripDelta, mean]);
  });
}

function stepMatMul(): void {
  tf.tidy(() => {
    const x = tf.randomNormal([2, 3, 4]);
    const w = tf.randomNormal([4, 6]);
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b)))([x, w]);
    // _FusedMatMul paths that make intermediates: non-row bias (Add kernel) and prelu (Prelu kernel)
    tf.fused.matMul({
      a: tf.randomNormal([3, 4]),
      b: w,
      bias: tf.randomNormal([3, 6]),
      activation: 'prelu',
      preluActivationWeights: tf.ones([6]),
    });
  });
}

describe('no tensor leaks', () => {
  for (const [name, step] of [
    ['fusedAttention forward + backward', stepAttention],
    ["fusedAttention 'bthd' / fusedSelfAttentionPacked forward + backward", stepAttentionLayouts],
    ['composeResidual forward + backward', stepCompose],
    ['matMul / fused matMul forward + backward', stepMatMul],
  ] as const) {
    it(name, () => {
      step(); // warm-up (first calls may register things)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a rejected call leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const q = tf.zeros([1, 1, 2, 4]) as tf.Tensor4D;
    const bad = tf.zeros([1, 1, 2, 5]) as tf.Tensor4D;
    const anchor = tf.zeros([2, 3]);
    const logit = tf.zeros([3]);
    expect(() => fusedAttention(q, bad, bad)).toThrow(/fusedAttention/);
    expect(() => fusedAttention(q, bad, bad, { layout: 'bthd' })).toThrow(/fusedAttention/);
    const badQkv = tf.zeros([1, 2, 7]) as tf.Tensor3D; // 7 features: not 3·heads·headDim
    expect(() => fusedSelfAttentionPacked(badQkv, 2)).toThrow(/fusedSelfAttentionPacked/);
    expect(() =>
      composeResidual(
        { anchor, gripLogit: logit },
        { unnormalize: { mode: 'quantile', q01: [0, 0, 0], q99: [1, 1, 1] } },
      ),
    ).toThrow(/composeResidual/);
    tf.dispose([q, bad, badQkv, anchor, logit]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
