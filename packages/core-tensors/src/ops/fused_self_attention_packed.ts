/**
 * fusedSelfAttentionPacked(qkv, heads, options): multi-head self-attention straight from a fused qkv
 * projection [B, T, 3·H·D] (q | k | v along the features, each [H, D]: the [B,T,3,H,D] layout that
 * `tf.split(qkv, 3, -1)` + a head reshape assume) to [B, T, H·D], differentiable. On a backend with the
 * FusedSelfAttentionPacked kernel (native) one kernel call reads the heads in place and one backward
 * call writes dqkv [B,T,3·H·D] directly: no split, no head transposes, no concat of the gradients.
 * Elsewhere (or when headDim > 256) the composite reference runs and tfjs autodiff differentiates it.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedSelfAttentionPacked, type FusedSelfAttentionPackedAttrs } from '../kernel_names.js';
import { validatePackedAttention } from './attention_validate.js';
import { MAX_NATIVE_HEAD_DIM } from './fused_attention.js';
import {
  fusedSelfAttentionPackedReference,
  type PackedAttentionOptions,
} from './fused_self_attention_packed_reference.js';
import { activeBackendHas } from './has_kernel.js';

/**
 * qkv [B,T,3·H·D] → [B,T,H·D]; options as `fusedAttention` (causal, keyPaddingMask [B,T], bias
 * broadcastable to [B,H,T,T] with a gradient, scale; default 1/√D).
 */
export function fusedSelfAttentionPacked(
  qkv: tf.Tensor3D,
  heads: number,
  options: PackedAttentionOptions = {},
): tf.Tensor3D {
  const { causal = false, keyPaddingMask, bias } = options;
  const dims = validatePackedAttention(
    'fusedSelfAttentionPacked',
    qkv,
    heads,
    keyPaddingMask,
    bias,
    options.scale,
  );
  if (!activeBackendHas(FusedSelfAttentionPacked) || dims.headDim > MAX_NATIVE_HEAD_DIM) {
    return fusedSelfAttentionPackedReference(qkv, heads, options);
  }
  const attrs: FusedSelfAttentionPackedAttrs = {
    heads,
    scale: options.scale ?? 1 / Math.sqrt(dims.headDim),
    causal,
    hasKeyPaddingMask: keyPaddingMask !== undefined,
    hasBias: bias !== undefined,
  };
  return tf.tidy(() => {
    const placeholder = tf.scalar(0);
    const inputs = { qkv, keyPaddingMask: keyPaddingMask ?? placeholder, bias: bias ?? placeholder };
    const [out] = tf.engine().runKernel(FusedSelfAttentionPacked, inputs, attrs) as tf.Tensor[];
    return out as tf.Tensor3D;
  });
}
