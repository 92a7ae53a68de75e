/**
 * Activations. GELU goes through core-tensors' `gelu` (one fused native kernel forward and backward on
 * the `native` backend, differentiable tf ops elsewhere); the others are tf ops.
 */
import { gelu as coreGelu } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';

export type ActivationName = 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'relu' | 'silu';

/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)) (PyTorch F.gelu default). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return coreGelu(x, { approximate: 'none' });
}

/** Tanh-approximate GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2, F.gelu(approximate='tanh')). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return coreGelu(x, { approximate: 'tanh' });
}

/** SiLU / swish: x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** QuickGELU: x·σ(1.702x) (OpenAI CLIP's text and vision towers). */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))));
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
    case 'quick_gelu':
      return quickGelu;
    case 'relu':
      return relu;
    case 'silu':
      return silu;
  }
}
