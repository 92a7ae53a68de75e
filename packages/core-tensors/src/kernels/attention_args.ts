/** Builds the addon's AttentionArgs from FusedAttention kernel inputs (validating them first). */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { AttentionArgs } from '../addon.js';
import type { FusedAttentionAttrs, FusedAttentionGradInputs, FusedAttentionInputs } from '../kernel_names.js';
import { type AttentionDims, biasStrides, validateAttention } from '../ops/attention_validate.js';
import { shapeStr } from '../shape_utils.js';
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

/** Checks the extra inputs of the backward kernels: out and dy like q, lse [B,H,Tq], all float32. */
export function checkGradInputs(op: string, ins: FusedAttentionGradInputs, dims: AttentionDims): void {
  const { batch, heads, qLen } = dims;
  for (const [name, t, want] of [
    ['out', ins.out, ins.q.shape],
    ['dy', ins.dy, ins.q.shape],
    ['lse', ins.lse, [batch, heads, qLen]],
  ] as const) {
    if (t.dtype !== 'float32' || t.shape.join(',') !== want.join(',')) {
      throw new Error(
        `${op}: ${name} must be float32 ${shapeStr(want)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
}
