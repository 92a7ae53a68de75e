/**
 * FusedSelfAttentionPacked (native): self-attention over a packed qkv [B,T,3·H·D] (= [B,T,3,H,D], q | k
 * | v along the features) in one kernel call, the heads read in place through strides (no split, no
 * transposes). Outputs [out [B,T,H·D], lse [B,H,T]]; lse is saved for FusedSelfAttentionPackedGrad.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import {
  FusedSelfAttentionPacked,
  type FusedSelfAttentionPackedAttrs,
  type FusedSelfAttentionPackedInputs,
} from '../kernel_names.js';
import { f32 } from './kernel_utils.js';
import { packedAttentionArgs, packedViews } from './packed_attention_args.js';

export const fusedSelfAttentionPacked: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedSelfAttentionPackedInputs;
  const a = attrs as FusedSelfAttentionPackedAttrs;
  const { args, dims } = packedAttentionArgs(FusedSelfAttentionPacked, cpu, ins, a);
  const { batch, heads, qLen, headDim } = dims;
  const { q, k, v } = packedViews(f32(cpu, ins.qkv), dims);
  const out = outputF32(cpu, batch * qLen * heads * headDim); // every (b, t, h, :) row is written
  const lse = outputF32(cpu, batch * heads * qLen);
  loadAddon().attentionForward(args, q, k, v, out, lse);
  return [
    cpu.makeTensorInfo([batch, qLen, heads * headDim], 'float32', out),
    cpu.makeTensorInfo([batch, heads, qLen], 'float32', lse),
  ];
};

export const fusedSelfAttentionPackedConfig: KernelConfig = {
  kernelName: FusedSelfAttentionPacked,
  backendName: 'native',
  kernelFunc: fusedSelfAttentionPacked,
};
