/**
 * Activations written with differentiable tf ops (tfjs has no gelu op; erf has a registered gradient).
 */
import * as tf from '@tensorflow/tfjs';

export type ActivationName = 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)) (PyTorch F.gelu default). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Tanh-approximate GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2, F.gelu(approximate='tanh')). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** SiLU / swish: x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

export function activation(name: ActivationName): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_tanh':
      return geluTanh;
    case 'relu':
      return relu;
    case 'silu':
      return silu;
  }
}
