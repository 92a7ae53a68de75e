/**
 * Gradient of Linear: one lazy kernel per input that needs it (a frozen weight costs nothing):
 * dx = dy·W (LinearInputGrad), dW = dyᵀ·x (LinearWeightGrad), db = dy summed over its rows.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { Linear, type LinearAttrs, LinearInputGrad, LinearWeightGrad } from '../kernel_names.js';

export const linearGradConfig: GradConfig = {
  kernelName: Linear,
  inputsToSave: ['x', 'weight', 'bias'],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const dy = dys as tf.Tensor;
    const [x, weight, bias] = saved;
    return {
      x: () => tf.engine().runKernel(LinearInputGrad, { dy, weight }) as tf.Tensor,
      weight: () => tf.engine().runKernel(LinearWeightGrad, { dy, x }) as tf.Tensor,
      // db: the column sums of dy as rows [N, out], the reduction the composite's broadcast Add takes, so a
      // training step is bit-identical with and without this kernel (a test checks it)
      bias: () =>
        !(attrs as LinearAttrs).hasBias
          ? tf.zeros(bias.shape)
          : dy.rank > 1
            ? tf.sum(tf.reshape(dy, [dy.size / Math.max(1, bias.size), bias.size]), 0) // [N, out] → [out]
            : tf.clone(dy),
    };
  },
};
