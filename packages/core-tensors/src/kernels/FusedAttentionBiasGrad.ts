/**
 * FusedAttentionBiasGrad (native): the gradient of FusedAttention's bias, summed over the bias's
 * broadcast dimensions back to its own shape. Output [dbias]. It recomputes the score gradients tile by
 * tile (attentionBiasGrad in the addon), so the FusedAttention gradient runs it only when tfjs asks for
 * the bias's gradient, i.e. when the bias lies on the path to a differentiated tensor. Deterministic.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import {
  type FusedAttentionAttrs,
  FusedAttentionBiasGrad,
  type FusedAttentionGradInputs,
} from '../kernel_names.js';
import { sizeOf } from '../shape_utils.js';
import { attentionArgs, checkGradInputs } from './attention_args.js';
import { f32 } from './kernel_utils.js';

export const fusedAttentionBiasGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedAttentionGradInputs;
  const { args, dims, bias } = attentionArgs(FusedAttentionBiasGrad, cpu, ins, attrs as FusedAttentionAttrs);
  if (!bias) throw new Error(`${FusedAttentionBiasGrad}: the call has no bias (attrs.hasBias is false)`);
  checkGradInputs(FusedAttentionBiasGrad, ins, dims);
  const dbias = new Float32Array(sizeOf(bias.shape));
  loadAddon().attentionBiasGrad(
    args,
    f32(cpu, ins.q),
    f32(cpu, ins.k),
    f32(cpu, ins.v),
    f32(cpu, ins.out),
    f32(cpu, ins.lse),
    f32(cpu, ins.dy),
    dbias,
  );
  return cpu.makeTensorInfo(bias.shape, 'float32', dbias);
};

export const fusedAttentionBiasGradConfig: KernelConfig = {
  kernelName: FusedAttentionBiasGrad,
  backendName: 'native',
  kernelFunc: fusedAttentionBiasGrad,
};
