/**
 * Gradient of FusedAttention (pattern A of the research notes, §1.5): the multi-output
 * FusedAttentionGrad kernel (dq, dk, dv) runs EAGERLY in gradFunc; the q/k/v thunks only hand its
 * outputs back (a lazy thunk would see tensors disposed by the previous thunk's tidy). The bias's
 * gradient is a separate single-output kernel, FusedAttentionBiasGrad, that the `bias` thunk runs
 * LAZILY: tfjs calls a thunk only for inputs on the path to the differentiated tensors, so a constant
 * mask (e.g. GR-1's -Infinity "query tokens invisible" bias) costs no dbias pass. The lse output is
 * internal to `fusedAttention` and never exposed, so its incoming gradient is ignored.
 * keyPaddingMask gets zeros.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import {
  FusedAttention,
  type FusedAttentionAttrs,
  FusedAttentionBiasGrad,
  FusedAttentionGrad,
} from '../kernel_names.js';

export const fusedAttentionGradConfig: GradConfig = {
  kernelName: FusedAttention,
  inputsToSave: ['q', 'k', 'v', 'keyPaddingMask', 'bias'],
  outputsToSave: [true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [dy] = dys as tf.Tensor[];
    const [q, k, v, keyPaddingMask, bias, out, lse] = saved;
    const a = attrs as FusedAttentionAttrs;
    const inputs = { q, k, v, keyPaddingMask, bias, out, lse, dy };
    const [dq, dk, dv] = tf.engine().runKernel(FusedAttentionGrad, inputs, a) as tf.Tensor[];
    return {
      q: () => dq,
      k: () => dk,
      v: () => dv,
      keyPaddingMask: () => tf.zeros(keyPaddingMask.shape),
      bias: () =>
        a.hasBias
          ? (tf.engine().runKernel(FusedAttentionBiasGrad, inputs, a) as tf.Tensor)
          : tf.zeros(bias.shape),
    };
  },
};
