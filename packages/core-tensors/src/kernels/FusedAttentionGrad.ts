/**
 * FusedAttentionGrad (native): dq, dk, dv. Outputs [dq, dk, dv]. The bias's gradient is a separate
 * kernel (FusedAttentionBiasGrad) that the gradient runs only when tfjs asks for it, so a constant mask
 * costs nothing; the bias still enters the recomputed scores here. Deterministic (bit-identical across
 * runs and thread counts).
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import {
  type FusedAttentionAttrs,
  FusedAttentionGrad,
  type FusedAttentionGradInputs,
} from '../kernel_names.js';
import { sizeOf } from '../shape_utils.js';
import { attentionArgs, checkGradInputs } from './attention_args.js';
import { f32 } from './kernel_utils.js';

export const fusedAttentionGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedAttentionGradInputs;
  const { args, dims } = attentionArgs(FusedAttentionGrad, cpu, ins, attrs as FusedAttentionAttrs);
  checkGradInputs(FusedAttentionGrad, ins, dims);
  const dq = outputF32(cpu, sizeOf(ins.q.shape));
  const dk = outputF32(cpu, sizeOf(ins.k.shape));
  const dv = outputF32(cpu, sizeOf(ins.v.shape));
  loadAddon().attentionBackward(
    args,
    f32(cpu, ins.q),
    f32(cpu, ins.k),
    f32(cpu, ins.v),
    f32(cpu, ins.out),
    f32(cpu, ins.lse),
    f32(cpu, ins.dy),
    dq,
    dk,
    dv,
    null,
  );
  return [
    cpu.makeTensorInfo(ins.q.shape, 'float32', dq),
    cpu.makeTensorInfo(ins.k.shape, 'float32', dk),
    cpu.makeTensorInfo(ins.v.shape, 'float32', dv),
  ];
};

export const fusedAttentionGradConfig: KernelConfig = {
  kernelName: FusedAttentionGrad,
  backendName: 'native',
  kernelFunc: fusedAttentionGrad,
};
