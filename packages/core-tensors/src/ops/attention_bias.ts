/**
 * Builders of additive attention biases for `fusedAttention` (0 = visible, -Infinity = hidden).
 */
import * as tf from '@tensorflow/tfjs';

export const attentionBias = {
  /**
   * `allowed` (bool or numeric, any shape broadcastable to [B,H,Tq,Tk]; true/nonzero = query may see key)
   * → float32 bias of the same shape: 0 where allowed, -Infinity where not.
   */
  fromBoolean(allowed: tf.Tensor | boolean[][]): tf.Tensor {
    return tf.tidy(() => {
      const a = allowed instanceof tf.Tensor ? allowed : tf.tensor2d(allowed, undefined, 'bool');
      const ok = tf.notEqual(tf.cast(a, 'float32'), 0);
      return tf.where(ok, tf.zeros(a.shape), tf.fill(a.shape, -Infinity));
    });
  },

  /**
   * GR-1 style: tokens whose `isQuery[j]` is true are invisible to every *other* non-query token.
   * Query tokens themselves see everything allowed by `causal`. Returns a [T,T] bias: row i (the query
   * position) and column j (the key position); -Infinity where i is not a query token, j is, and i != j.
   */
  hideQueryTokens(isQuery: readonly boolean[], options: { causal?: boolean } = {}): tf.Tensor2D {
    const t = isQuery.length;
    const values = new Float32Array(t * t);
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) {
        const hidden = (!isQuery[i] && isQuery[j] && i !== j) || (options.causal === true && j > i);
        values[i * t + j] = hidden ? -Infinity : 0;
      }
    }
    return tf.tensor2d(values, [t, t], 'float32');
  },
};
