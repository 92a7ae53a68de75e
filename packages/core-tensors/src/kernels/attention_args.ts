/** Builds the addon's AttentionArgs from FusedAttention kernel inputs (validating them first). */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { AttentionArgs } from '../addon.js';
import type { FusedAttentionAttrs, FusedAttentionInputs } from '../kernel_names.js';
import { type AttentionDims, biasStrides, validateAttention } from '../ops/attention_validate.js';
import { f32, nonzeroMask } from './kernel_utils.js';

export function attentionArgs(
  op: string,
  backend: MathBackendCPU,
  inputs: FusedAttentionInputs,
  attrs: FusedAttentionAttrs,
): { args: AttentionArgs; dims: AttentionDims; bias?: TensorInfo } {
  const { q, k, v, keyPaddingMask, bias } = inputs;
  const mask = attrs.hasKeyPaddingMask ? keyPaddingMask : undefined;
  const b = attrs.hasBias ? bias : undefined;
  const dims = validateAttention(op, q, k, v, mask, b, attrs.scale);
  if (dims.headDim > 256) throw new Error(`${op}: headDim ${dims.headDim} > 256 is not supported natively`);
  const args: AttentionArgs = { ...dims, scale: attrs.scale, causal: attrs.causal };
  if (mask) args.keyPaddingMask = nonzeroMask(backend, mask);
  if (b) {
    args.bias = f32(backend, b);
    args.biasStrides = biasStrides(b.shape);
  }
  return { args, dims, bias: b };
}
