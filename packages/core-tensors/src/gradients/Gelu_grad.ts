/** Gradient of Gelu: one GeluGrad kernel (single output, so the thunk may run it lazily). */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { Gelu, type GeluAttrs, GeluGrad } from '../kernel_names.js';

export const geluGradConfig: GradConfig = {
  kernelName: Gelu,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    return {
      x: () => tf.engine().runKernel(GeluGrad, { x, dy: dy as tf.Tensor }, attrs as GeluAttrs) as tf.Tensor,
    };
  },
};
