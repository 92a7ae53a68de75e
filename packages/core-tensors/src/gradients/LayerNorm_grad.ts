/**
 * Gradient of LayerNorm (pattern A, see FusedAttention_grad.ts): the multi-output LayerNormGrad kernel
 * runs EAGERLY in gradFunc with the saved mean/rstd outputs; the thunks hand its outputs back. Absent
 * gamma/beta (scalar placeholders) get zeros.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { LayerNorm, type LayerNormAttrs, LayerNormGrad } from '../kernel_names.js';

export const layerNormGradConfig: GradConfig = {
  kernelName: LayerNorm,
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [dy] = dys as tf.Tensor[];
    const [x, gamma, beta, mean, rstd] = saved;
    const a = attrs as LayerNormAttrs;
    const [dx, dgamma, dbeta] = tf
      .engine()
      .runKernel(LayerNormGrad, { x, gamma, beta, mean, rstd, dy }, a) as tf.Tensor[];
    return {
      x: () => dx,
      gamma: () => (a.hasGamma ? dgamma : tf.zeros(gamma.shape)),
      beta: () => (a.hasBeta ? dbeta : tf.zeros(beta.shape)),
    };
  },
};
