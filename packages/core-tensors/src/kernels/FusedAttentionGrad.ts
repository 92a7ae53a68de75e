/**
 * FusedAttentionGrad (native): dq, dk, dv and the bias gradient (summed over the bias's broadcast
 * dimensions by the addon, which accumulates into a zero-filled array with the bias's strides).
 * Outputs [dq, dk, dv, dbias]; dbias is a scalar 0 when the call had no bias.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import {
  type FusedAttentionAttrs,
  FusedAttentionGrad,
  type FusedAttentionGradInputs,
} from '../kernel_names.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { attentionArgs } from './attention_args.js';
import { f32 } from './kernel_utils.js';

export const fusedAttentionGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedAttentionGradInputs;
  const { args, dims, bias } = attentionArgs(FusedAttentionGrad, cpu, ins, attrs as FusedAttentionAttrs);
  const { batch, heads, qLen } = dims;
  for (const [name, t, want] of [
    ['out', ins.out, ins.q.shape],
    ['dy', ins.dy, ins.q.shape],
    ['lse', ins.lse, [batch, heads, qLen]],
  ] as const) {
    if (t.dtype !== 'float32' || t.shape.join(',') !== want.join(',')) {
      throw new Error(
        `${FusedAttentionGrad}: ${name} must be float32 ${shapeStr(want)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
  const dq = new Float32Array(sizeOf(ins.q.shape));
  const dk = new Float32Array(sizeOf(ins.k.shape));
  const dv = new Float32Array(sizeOf(ins.v.shape));
  const dbias = bias ? new Float32Array(sizeOf(bias.shape)) : null; // zero-filled: the addon accumulates
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
    dbias,
  );
  return [
    cpu.makeTensorInfo(ins.q.shape, 'float32', dq),
    cpu.makeTensorInfo(ins.k.shape, 'float32', dk),
    cpu.makeTensorInfo(ins.v.shape, 'float32', dv),
    bias && dbias
      ? cpu.makeTensorInfo(bias.shape, 'float32', dbias)
      : cpu.makeTensorInfo([], 'float32', new Float32Array(1)),
  ];
};

export const fusedAttentionGradConfig: KernelConfig = {
  kernelName: FusedAttentionGrad,
  backendName: 'native',
  kernelFunc: fusedAttentionGrad,
};
