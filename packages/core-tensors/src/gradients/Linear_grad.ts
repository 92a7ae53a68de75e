/**
 * Gradient of Linear: one lazy kernel per input that needs it (a frozen weight costs nothing):
 * dx = dy·W (LinearInputGrad), dW = dyᵀ·x (LinearWeightGrad), db = dy summed over the leading axes.
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
    const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i);
    return {
      x: () => tf.engine().runKernel(LinearInputGrad, { dy, weight }) as tf.Tensor,
      weight: () => tf.engine().runKernel(LinearWeightGrad, { dy, x }) as tf.Tensor,
      bias: () =>
        !(attrs as LinearAttrs).hasBias
          ? tf.zeros(bias.shape)
          : lead.length > 0
            ? tf.sum(dy, lead)
            : tf.clone(dy),
    };
  },
};
