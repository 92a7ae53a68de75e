/**
 * FusedSelfAttentionPackedBiasGrad (native): the gradient of FusedSelfAttentionPacked's bias, summed
 * over the bias's broadcast dimensions back to its own shape. Output [dbias]. Run by the gradient only
 * when tfjs asks for the bias's gradient (as FusedAttentionBiasGrad). Deterministic.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import {
  type FusedSelfAttentionPackedAttrs,
  FusedSelfAttentionPackedBiasGrad,
  type FusedSelfAttentionPackedGradInputs,
} from '../kernel_names.js';
import { sizeOf } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';
import { checkPackedGradInputs, packedAttentionArgs, packedViews } from './packed_attention_args.js';

export const fusedSelfAttentionPackedBiasGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedSelfAttentionPackedGradInputs;
  const a = attrs as FusedSelfAttentionPackedAttrs;
  const { args, dims, bias } = packedAttentionArgs(FusedSelfAttentionPackedBiasGrad, cpu, ins, a);
  if (!bias)
    throw new Error(`${FusedSelfAttentionPackedBiasGrad}: the call has no bias (attrs.hasBias is false)`);
  checkPackedGradInputs(FusedSelfAttentionPackedBiasGrad, ins, dims);
  const { q, k, v } = packedViews(f32(cpu, ins.qkv), dims);
  const dbias = new Float32Array(sizeOf(bias.shape));
  loadAddon().attentionBiasGrad(args, q, k, v, f32(cpu, ins.out), f32(cpu, ins.lse), f32(cpu, ins.dy), dbias);
  return cpu.makeTensorInfo(bias.shape, 'float32', dbias);
};

export const fusedSelfAttentionPackedBiasGradConfig: KernelConfig = {
  kernelName: FusedSelfAttentionPackedBiasGrad,
  backendName: 'native',
  kernelFunc: fusedSelfAttentionPackedBiasGrad,
};
