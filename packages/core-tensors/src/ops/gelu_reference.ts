/**
 * geluReference: GELU from differentiable tf ops (the oracle of the native Gelu kernel and the fallback
 * of `gelu` on other backends).
 */
import * as tf from '@tensorflow/tfjs';
import type { GeluApproximate } from '../kernel_names.js';

export interface GeluOptions {
  /** 'none' (default): exact x·Φ(x) (PyTorch F.gelu); 'tanh': GPT-2's tanh approximation. */
  approximate?: GeluApproximate;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluReference(x: tf.Tensor, options: GeluOptions = {}): tf.Tensor {
  return tf.tidy(() => {
    if ((options.approximate ?? 'none') === 'tanh') {
      // ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    // ½x(1 + erf(x/√2))
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  });
}
