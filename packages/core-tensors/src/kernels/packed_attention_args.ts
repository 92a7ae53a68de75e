/**
 * The addon's AttentionArgs and q/k/v views for a FusedSelfAttentionPacked call: qkv [B,T,3·H·D] is
 * read as [B,T,3,H,D], so q, k and v are three interleaved strided views of one array (k starts H·D
 * elements after q, v 2·H·D after) and the output [B,T,H·D] is written as [B,T,H,D]. No copies.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type AttentionArgs, requireStridedAttention } from '../addon.js';
import type {
  FusedSelfAttentionPackedAttrs,
  FusedSelfAttentionPackedGradInputs,
  FusedSelfAttentionPackedInputs,
} from '../kernel_names.js';
import { bthdStrides, packedQkvStrides } from '../ops/attention_layout.js';
import { type AttentionDims, validatePackedAttention } from '../ops/attention_validate.js';
import { MAX_NATIVE_HEAD_DIM } from '../ops/fused_attention.js';
import { expectF32Shape, maskAndBiasArgs } from './attention_args.js';

/** q, k, v (or dq, dk, dv) as views of one packed [B,T,3,H,D] array. */
export interface PackedViews {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** The three interleaved views of `packed` (qkv or dqkv); each starts at its (b=0, t=0, h=0) element. */
export function packedViews(packed: Float32Array, dims: AttentionDims): PackedViews {
  const hd = dims.heads * dims.headDim;
  return { q: packed.subarray(0), k: packed.subarray(hd), v: packed.subarray(2 * hd) };
}

export function packedAttentionArgs(
  op: string,
  backend: MathBackendCPU,
  inputs: FusedSelfAttentionPackedInputs,
  attrs: FusedSelfAttentionPackedAttrs,
): { args: AttentionArgs; dims: AttentionDims; bias?: TensorInfo } {
  const { qkv, keyPaddingMask, bias } = inputs;
  const mask = attrs.hasKeyPaddingMask ? keyPaddingMask : undefined;
  const b = attrs.hasBias ? bias : undefined;
  const dims = validatePackedAttention(op, qkv, attrs.heads, mask, b, attrs.scale);
  if (dims.headDim > MAX_NATIVE_HEAD_DIM) {
    throw new Error(`${op}: headDim ${dims.headDim} > ${MAX_NATIVE_HEAD_DIM} is not supported natively`);
  }
  requireStridedAttention(op);
  const { qLen, heads, headDim } = dims;
  const qkvStrides = packedQkvStrides(qLen, heads, headDim);
  const args: AttentionArgs = {
    ...dims,
    scale: attrs.scale,
    causal: attrs.causal,
    qStrides: qkvStrides,
    kStrides: qkvStrides,
    vStrides: qkvStrides,
    outStrides: bthdStrides(qLen, heads, headDim), // out [B,T,H·D] = [B,T,H,D]
  };
  maskAndBiasArgs(backend, args, mask, b);
  return { args, dims, bias: b };
}

/** Checks the extra inputs of the packed backward kernels: out and dy [B,T,H·D], lse [B,H,T]. */
export function checkPackedGradInputs(
  op: string,
  ins: FusedSelfAttentionPackedGradInputs,
  dims: AttentionDims,
): void {
  const { batch, heads, qLen, headDim } = dims;
  expectF32Shape(op, 'out', ins.out, [batch, qLen, heads * headDim]);
  expectF32Shape(op, 'dy', ins.dy, [batch, qLen, heads * headDim]);
  expectF32Shape(op, 'lse', ins.lse, [batch, heads, qLen]);
}
