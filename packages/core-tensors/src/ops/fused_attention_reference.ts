/**
 * The composite (tf-ops) multi-head attention: the oracle for the native FusedAttention kernel and the
 * path used on backends without that kernel (cpu, tensorflow). Autodiff comes from the tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { AttentionLayout } from './attention_layout.js';
import { validateAttention } from './attention_validate.js';

export interface FusedAttentionOptions {
  /** Top-left causal mask (torch SDPA): query i sees key j iff j <= i. */
  causal?: boolean;
  /** [B, Tk] bool or numeric; true / nonzero = padded key, ignored (PyTorch convention). */
  keyPaddingMask?: tf.Tensor;
  /** float32, rank <= 4, broadcastable to [B, H, Tq, Tk]; added to the scaled scores; may hold -Infinity. */
  bias?: tf.Tensor;
  /** Score scale; default 1 / sqrt(headDim). */
  scale?: number;
  /** How q, k, v and the output hold their heads: 'bhtd' [B,H,T,D] (default) or 'bthd' [B,T,H,D]. */
  layout?: AttentionLayout;
}

/** Scores below this are "masked"; softmax of a visible row sends them to exactly 0. */
const MASKED = -1e30;

export function fusedAttentionReference(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  options: FusedAttentionOptions = {},
): tf.Tensor4D {
  const { causal = false, keyPaddingMask, bias, layout = 'bhtd' } = options;
  const { batch, heads, qLen, kLen, headDim } = validateAttention(
    'fusedAttentionReference',
    q,
    k,
    v,
    keyPaddingMask,
    bias,
    options.scale,
    layout,
  );
  if (layout === 'bthd') {
    return tf.tidy(() => {
      const toHeads = (t: tf.Tensor4D) => tf.transpose(t, [0, 2, 1, 3]); // [B,T,H,D] -> [B,H,T,D]
      const o = fusedAttentionReference(toHeads(q), toHeads(k), toHeads(v), { ...options, layout: 'bhtd' });
      return tf.transpose(o, [0, 2, 1, 3]); // [B,H,Tq,D] -> [B,Tq,H,D]
    });
  }
  const scale = options.scale ?? 1 / Math.sqrt(headDim);
  return tf.tidy(() => {
    const full = [batch, heads, qLen, kLen];
    // [B,H,Tq,D] x [B,H,Tk,D]^T -> scores [B,H,Tq,Tk]
    let scores = tf.mul(tf.matMul(q, k, false, true), scale);
    // Visibility as float 0/1 factors, each broadcastable to [B,H,Tq,Tk]. Only ops with registered
    // gradients touch `bias` (IsFinite, Cast, Mul, Max), so autodiff through it works on every backend.
    const visibleParts: tf.Tensor[] = [];
    if (bias) {
      const finite = tf.isFinite(bias); // -Infinity (and NaN) hide the key
      scores = tf.add(scores, tf.where(finite, bias, tf.zerosLike(bias)));
      visibleParts.push(tf.cast(finite, 'float32'));
    }
    if (causal) {
      const rows = tf.reshape(tf.range(0, qLen, 1, 'int32'), [qLen, 1]); // [Tq] -> [Tq,1]
      const cols = tf.reshape(tf.range(0, kLen, 1, 'int32'), [1, kLen]); // [Tk] -> [1,Tk]
      visibleParts.push(tf.cast(tf.lessEqual(cols, rows), 'float32')); // [Tq,Tk]
    }
    if (keyPaddingMask) {
      const kept = tf.cast(tf.equal(tf.cast(keyPaddingMask, 'float32'), 0), 'float32'); // [B,Tk]
      visibleParts.push(tf.reshape(kept, [batch, 1, 1, kLen])); // [B,Tk] -> [B,1,1,Tk]
    }
    if (visibleParts.length === 0) return tf.matMul(tf.softmax(scores), v) as tf.Tensor4D;
    let visible = tf.broadcastTo(visibleParts[0], full); // [B,H,Tq,Tk], 1 = visible
    for (const part of visibleParts.slice(1)) visible = tf.mul(visible, part);
    // hidden scores -> MASKED; softmax of a row with any visible key sends them to exactly 0
    const masked = tf.add(tf.mul(scores, visible), tf.mul(tf.sub(visible, 1), -MASKED));
    // Rows that see no key: softmax is uniform over MASKED; zero them (and their gradient).
    const anyVisible = tf.max(visible, -1, true); // [B,H,Tq,1]
    const probs = tf.mul(tf.softmax(masked), anyVisible);
    return tf.matMul(probs, v) as tf.Tensor4D; // [B,H,Tq,Tk] x [B,H,Tk,D] -> [B,H,Tq,D]
  });
}
