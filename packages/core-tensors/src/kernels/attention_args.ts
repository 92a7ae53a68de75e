/** Builds the addon's AttentionArgs from FusedAttention kernel inputs (validating them first). */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type AttentionArgs, requireStridedAttention } from '../addon.js';
import type { FusedAttentionAttrs, FusedAttentionGradInputs, FusedAttentionInputs } from '../kernel_names.js';
import { type AttentionLayout, bthdStrides } from '../ops/attention_layout.js';
import { type AttentionDims, biasStrides, validateAttention } from '../ops/attention_validate.js';
import { MAX_NATIVE_HEAD_DIM } from '../ops/fused_attention.js';
import { shapeStr } from '../shape_utils.js';
import { f32, nonzeroMask } from './kernel_utils.js';

/** args.keyPaddingMask / bias / biasStrides of a call (validated by the caller). */
export function maskAndBiasArgs(
  backend: MathBackendCPU,
  args: AttentionArgs,
  mask: TensorInfo | undefined,
  bias: TensorInfo | undefined,
): void {
  if (mask) args.keyPaddingMask = nonzeroMask(backend, mask);
  if (bias) {
    args.bias = f32(backend, bias);
    args.biasStrides = biasStrides(bias.shape);
  }
}

export function attentionArgs(
  op: string,
  backend: MathBackendCPU,
  inputs: FusedAttentionInputs,
  attrs: FusedAttentionAttrs,
): { args: AttentionArgs; dims: AttentionDims; bias?: TensorInfo } {
  const { q, k, v, keyPaddingMask, bias } = inputs;
  const mask = attrs.hasKeyPaddingMask ? keyPaddingMask : undefined;
  const b = attrs.hasBias ? bias : undefined;
  // runKernel callers that predate the attr pass none: the default layout
  const layout: AttentionLayout = (attrs.layout as AttentionLayout | undefined) ?? 'bhtd';
  const dims = validateAttention(op, q, k, v, mask, b, attrs.scale, layout);
  if (dims.headDim > MAX_NATIVE_HEAD_DIM) {
    throw new Error(`${op}: headDim ${dims.headDim} > ${MAX_NATIVE_HEAD_DIM} is not supported natively`);
  }
  const args: AttentionArgs = { ...dims, scale: attrs.scale, causal: attrs.causal };
  if (layout === 'bthd') {
    // q/out [B,Tq,H,D], k/v [B,Tk,H,D]: the kernel reads and writes the heads in place
    requireStridedAttention(op);
    const { qLen, kLen, heads, headDim } = dims;
    args.qStrides = bthdStrides(qLen, heads, headDim);
    args.kStrides = bthdStrides(kLen, heads, headDim);
    args.vStrides = bthdStrides(kLen, heads, headDim);
    args.outStrides = bthdStrides(qLen, heads, headDim);
  }
  maskAndBiasArgs(backend, args, mask, b);
  return { args, dims, bias: b };
}

/** Checks that `t` is float32 of shape `want`, naming `op` and the input. */
export function expectF32Shape(op: string, name: string, t: TensorInfo, want: readonly number[]): void {
  if (t.dtype !== 'float32' || t.shape.join(',') !== want.join(',')) {
    throw new Error(`${op}: ${name} must be float32 ${shapeStr(want)} (got ${shapeStr(t.shape)} ${t.dtype})`);
  }
}

/** Checks the extra inputs of the backward kernels: out and dy like q, lse [B,H,Tq], all float32. */
export function checkGradInputs(op: string, ins: FusedAttentionGradInputs, dims: AttentionDims): void {
  const { batch, heads, qLen } = dims;
  expectF32Shape(op, 'out', ins.out, ins.q.shape);
  expectF32Shape(op, 'dy', ins.dy, ins.q.shape);
  expectF32Shape(op, 'lse', ins.lse, [batch, heads, qLen]);
}
