/**
 * Gradient of FusedAttention (pattern A of the research notes, §1.5): the multi-output
 * FusedAttentionGrad kernel runs EAGERLY in gradFunc; the thunks only hand its outputs back (a lazy
 * thunk would see tensors disposed by the previous thunk's tidy). The lse output is internal to
 * `fusedAttention` and never exposed, so its incoming gradient is ignored. keyPaddingMask gets zeros.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { FusedAttention, type FusedAttentionAttrs, FusedAttentionGrad } from '../kernel_names.js';

export const fusedAttentionGradConfig: GradConfig = {
  kernelName: FusedAttention,
  inputsToSave: ['q', 'k', 'v', 'keyPaddingMask', 'bias'],
  outputsToSave: [true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [dy] = dys as tf.Tensor[];
    const [q, k, v, keyPaddingMask, bias, out, lse] = saved;
    const a = attrs as FusedAttentionAttrs;
    const [dq, dk, dv, dbias] = tf
      .engine()
      .runKernel(FusedAttentionGrad, { q, k, v, keyPaddingMask, bias, out, lse, dy }, a) as tf.Tensor[];
    return {
      q: () => dq,
      k: () => dk,
      v: () => dv,
      keyPaddingMask: () => tf.zeros(keyPaddingMask.shape),
      bias: () => (a.hasBias ? dbias : tf.zeros(bias.shape)),
    };
  },
};
