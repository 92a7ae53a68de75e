/**
 * The composite (tf-ops) self-attention over a packed qkv: the oracle of the native
 * FusedSelfAttentionPacked kernel and the path on backends without it (or when headDim > 256). It
 * splits the heads with reshapes and transposes and runs `fusedAttentionReference`; autodiff comes
 * from the tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { validatePackedAttention } from './attention_validate.js';
import { type FusedAttentionOptions, fusedAttentionReference } from './fused_attention_reference.js';

/** Options of `fusedSelfAttentionPacked`: those of `fusedAttention` but the layout (it is fixed). */
export type PackedAttentionOptions = Omit<FusedAttentionOptions, 'layout'>;

export function fusedSelfAttentionPackedReference(
  qkv: tf.Tensor3D,
  heads: number,
  options: PackedAttentionOptions = {},
): tf.Tensor3D {
  const { batch, qLen, headDim } = validatePackedAttention(
    'fusedSelfAttentionPackedReference',
    qkv,
    heads,
    options.keyPaddingMask,
    options.bias,
    options.scale,
  );
  return tf.tidy(() => {
    const split = tf.reshape(qkv, [batch, qLen, 3, heads, headDim]); // [B,T,3·H·D] -> [B,T,3,H,D]
    const perHead = tf.transpose(split, [2, 0, 3, 1, 4]); // [B,T,3,H,D] -> [3,B,H,T,D]
    const [q, k, v] = tf.unstack(perHead) as tf.Tensor4D[]; // 3 x [B,H,T,D]
    const o = fusedAttentionReference(q, k, v, { ...options, layout: 'bhtd' }); // [B,H,T,D]
    const merged = tf.transpose(o, [0, 2, 1, 3]); // [B,H,T,D] -> [B,T,H,D]
    return tf.reshape(merged, [batch, qLen, heads * headDim]) as tf.Tensor3D; // [B,T,H,D] -> [B,T,H·D]
  });
}
