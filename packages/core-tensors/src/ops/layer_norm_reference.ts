/**
 * layerNormReference: layer normalization over the last axis from differentiable tf ops (the oracle of
 * the native LayerNorm kernel and the fallback of `layerNorm` on other backends). Biased variance, as
 * PyTorch nn.LayerNorm.
 */
import * as tf from '@tensorflow/tfjs';

export interface LayerNormOptions {
  /** Added to the variance; default 1e-5 (PyTorch). */
  eps?: number;
}

/** x [..., dim], gamma/beta [dim] (optional) → [..., dim]. */
export function layerNormReference(
  x: tf.Tensor,
  gamma?: tf.Tensor,
  beta?: tf.Tensor,
  options: LayerNormOptions = {},
): tf.Tensor {
  const eps = options.eps ?? 1e-5;
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true); // [..., 1]
    const centered = tf.sub(x, mean); // [..., dim]
    const variance = tf.mean(tf.square(centered), -1, true); // [..., 1]
    let y = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  });
}
