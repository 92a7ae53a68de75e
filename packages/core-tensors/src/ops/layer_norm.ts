/**
 * layerNorm(x, gamma?, beta?, { eps }): layer normalization over the last axis, differentiable in x,
 * gamma and beta (their gradients are summed over the leading axes). One fused kernel forward and one
 * backward on a backend with the LayerNorm kernel (native); the composite reference elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { LayerNorm, type LayerNormAttrs } from '../kernel_names.js';
import { shapeStr } from '../shape_utils.js';
import { activeBackendHas } from './has_kernel.js';
import { type LayerNormOptions, layerNormReference } from './layer_norm_reference.js';

function validate(
  x: tf.Tensor,
  gamma: tf.Tensor | undefined,
  beta: tf.Tensor | undefined,
  eps: number,
): void {
  if (x.dtype !== 'float32' || x.rank < 1) {
    throw new Error(`layerNorm: x must be float32 of rank >= 1 (got ${shapeStr(x.shape)} ${x.dtype})`);
  }
  const dim = x.shape[x.rank - 1];
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t && (t.dtype !== 'float32' || t.rank !== 1 || t.shape[0] !== dim)) {
      throw new Error(
        `layerNorm: ${name} must be float32 [${dim}] to match x ${shapeStr(x.shape)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
  if (!Number.isFinite(eps) || eps < 0)
    throw new Error(`layerNorm: eps must be a finite number >= 0, got ${eps}`);
}

/** x [..., dim], gamma/beta [dim] → [..., dim]: (x − mean) / √(var + eps) · gamma + beta. */
export function layerNorm(
  x: tf.Tensor,
  gamma?: tf.Tensor,
  beta?: tf.Tensor,
  options: LayerNormOptions = {},
): tf.Tensor {
  const eps = options.eps ?? 1e-5;
  validate(x, gamma, beta, eps);
  if (!activeBackendHas(LayerNorm)) return layerNormReference(x, gamma, beta, { eps });
  const attrs: LayerNormAttrs = { eps, hasGamma: gamma !== undefined, hasBeta: beta !== undefined };
  return tf.tidy(() => {
    const placeholder = tf.scalar(0);
    const inputs = { x, gamma: gamma ?? placeholder, beta: beta ?? placeholder };
    const [y] = tf.engine().runKernel(LayerNorm, inputs, attrs) as tf.Tensor[];
    return y;
  });
}
