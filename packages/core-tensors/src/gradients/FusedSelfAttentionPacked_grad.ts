/**
 * Gradient of FusedSelfAttentionPacked, as FusedAttention's: dqkv comes from one backward kernel
 * (FusedSelfAttentionPackedGrad, a single [B,T,3·H·D] output, so its thunk can run it lazily), the
 * bias's gradient from FusedSelfAttentionPackedBiasGrad, run only when tfjs asks for it (a constant
 * mask costs no dbias pass). lse is internal to `fusedSelfAttentionPacked`; its gradient is ignored.
 * keyPaddingMask gets zeros.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import {
  FusedSelfAttentionPacked,
  type FusedSelfAttentionPackedAttrs,
  FusedSelfAttentionPackedBiasGrad,
  FusedSelfAttentionPackedGrad,
} from '../kernel_names.js';

export const fusedSelfAttentionPackedGradConfig: GradConfig = {
  kernelName: FusedSelfAttentionPacked,
  inputsToSave: ['qkv', 'keyPaddingMask', 'bias'],
  outputsToSave: [true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [dy] = dys as tf.Tensor[];
    const [qkv, keyPaddingMask, bias, out, lse] = saved;
    const a = attrs as FusedSelfAttentionPackedAttrs;
    const inputs = { qkv, keyPaddingMask, bias, out, lse, dy };
    return {
      qkv: () => tf.engine().runKernel(FusedSelfAttentionPackedGrad, inputs, a) as tf.Tensor,
      keyPaddingMask: () => tf.zeros(keyPaddingMask.shape),
      bias: () =>
        a.hasBias
          ? (tf.engine().runKernel(FusedSelfAttentionPackedBiasGrad, inputs, a) as tf.Tensor)
          : tf.zeros(bias.shape),
    };
  },
};
