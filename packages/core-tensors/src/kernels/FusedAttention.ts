/**
 * FusedAttention (native): flash-style attention forward through the addon.
 * Outputs [out (q's shape: [B,H,Tq,D], or [B,Tq,H,D] in layout 'bthd'), lse [B,H,Tq]]; lse is saved
 * for FusedAttentionGrad. In layout 'bthd' the kernel reads and writes the heads in place (strides).
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { FusedAttention, type FusedAttentionAttrs, type FusedAttentionInputs } from '../kernel_names.js';
import { attentionArgs } from './attention_args.js';
import { f32 } from './kernel_utils.js';

export const fusedAttention: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedAttentionInputs;
  const { args, dims } = attentionArgs(FusedAttention, cpu, ins, attrs as FusedAttentionAttrs);
  const { batch, heads, qLen, headDim } = dims;
  const out = outputF32(cpu, batch * heads * qLen * headDim);
  const lse = outputF32(cpu, batch * heads * qLen);
  loadAddon().attentionForward(args, f32(cpu, ins.q), f32(cpu, ins.k), f32(cpu, ins.v), out, lse);
  return [
    cpu.makeTensorInfo(ins.q.shape, 'float32', out),
    cpu.makeTensorInfo([batch, heads, qLen], 'float32', lse),
  ];
};

export const fusedAttentionConfig: KernelConfig = {
  kernelName: FusedAttention,
  backendName: 'native',
  kernelFunc: fusedAttention,
};
