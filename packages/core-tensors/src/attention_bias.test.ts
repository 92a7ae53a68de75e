import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { attentionBias } from './ops/attention_bias.js';
import { fusedAttention } from './ops/fused_attention.js';

describe('attentionBias', () => {
  it('fromBoolean: true -> 0, false -> -Infinity', () => {
    const values = tf.tidy(() =>
      attentionBias
        .fromBoolean([
          [true, false],
          [false, true],
        ])
        .arraySync(),
    );
    expect(values).toEqual([
      [0, -Infinity],
      [-Infinity, 0],
    ]);
    const numeric = tf.tidy(() => attentionBias.fromBoolean(tf.tensor1d([1, 0, 2], 'int32')).arraySync());
    expect(numeric).toEqual([0, -Infinity, 0]);
  });

  it('hideQueryTokens: non-query rows cannot see query columns (GR-1)', () => {
    // tokens: obs, query, obs ; query at position 1
    const b = tf.tidy(() => attentionBias.hideQueryTokens([false, true, false]).arraySync());
    expect(b).toEqual([
      [0, -Infinity, 0],
      [0, 0, 0],
      [0, -Infinity, 0],
    ]);
    const causal = tf.tidy(() =>
      attentionBias.hideQueryTokens([false, true, false], { causal: true }).arraySync(),
    );
    expect(causal).toEqual([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, -Infinity, 0],
    ]);
  });

  it('an attention output ignores values of hidden keys', () => {
    const out = tf.tidy(() => {
      const q = tf.randomNormal([1, 1, 3, 4]) as tf.Tensor4D;
      const k = tf.randomNormal([1, 1, 3, 4]) as tf.Tensor4D;
      const v1 = tf.randomNormal([1, 1, 3, 4]) as tf.Tensor4D;
      // change only the value of key 1 (the query token): rows 0 and 2 must not move
      const v2 = tf.add(v1, tf.tensor4d([0, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0], [1, 1, 3, 4])) as tf.Tensor4D;
      const bias = attentionBias.hideQueryTokens([false, true, false]);
      const a = fusedAttention(q, k, v1, { bias });
      const b = fusedAttention(q, k, v2, { bias });
      return tf.abs(tf.sub(a, b)).max(-1).arraySync() as number[][][];
    });
    expect(out[0][0][0]).toBeLessThan(1e-6);
    expect(out[0][0][2]).toBeLessThan(1e-6);
    expect(out[0][0][1]).toBeGreaterThan(1e-3);
  });
});
