/**
 * fusedAttention(q, k, v, options): softmax(scale * q k^T + bias | masks) v, differentiable.
 * On a backend with the FusedAttention kernel (native) one flash-style kernel runs forward and one
 * backward; elsewhere the composite reference runs and tfjs autodiff differentiates it.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedAttention, type FusedAttentionAttrs } from '../kernel_names.js';
import { validateAttention } from './attention_validate.js';
import { type FusedAttentionOptions, fusedAttentionReference } from './fused_attention_reference.js';
import { activeBackendHas } from './has_kernel.js';

/** The native kernel's head-dim limit (ct_attention_desc); larger heads take the composite path. */
export const MAX_NATIVE_HEAD_DIM = 256;

/**
 * Layout 'bhtd' (default): q [B,H,Tq,D], k/v [B,H,Tk,D] → [B,H,Tq,D].
 * Layout 'bthd': q [B,Tq,H,D], k/v [B,Tk,H,D] → [B,Tq,H,D] — a [B,T,H·D] projection reshaped, no head
 * transposes: the native kernel reads and writes the heads in place.
 * - causal: top-left aligned, key j visible to query i iff j <= i (torch SDPA).
 * - keyPaddingMask [B,Tk]: true/nonzero = padded key, ignored (PyTorch key_padding_mask).
 * - bias: float32, rank <= 4, broadcastable to [B,H,Tq,Tk] (in either layout), may hold -Infinity;
 *   gets a gradient.
 * - A query row that sees no key yields zeros and zero gradient.
 */
export function fusedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  options: FusedAttentionOptions = {},
): tf.Tensor4D {
  const { causal = false, keyPaddingMask, bias, layout = 'bhtd' } = options;
  const dims = validateAttention('fusedAttention', q, k, v, keyPaddingMask, bias, options.scale, layout);
  if (!activeBackendHas(FusedAttention) || dims.headDim > MAX_NATIVE_HEAD_DIM) {
    return fusedAttentionReference(q, k, v, options);
  }
  const attrs: FusedAttentionAttrs = {
    scale: options.scale ?? 1 / Math.sqrt(dims.headDim),
    causal,
    hasKeyPaddingMask: keyPaddingMask !== undefined,
    hasBias: bias !== undefined,
    layout,
  };
  return tf.tidy(() => {
    const placeholder = tf.scalar(0);
    const inputs = {
      q,
      k,
      v,
      keyPaddingMask: keyPaddingMask ?? placeholder,
      bias: bias ?? placeholder,
    };
    const [out] = tf.engine().runKernel(FusedAttention, inputs, attrs) as tf.Tensor[];
    return out as tf.Tensor4D;
  });
}
