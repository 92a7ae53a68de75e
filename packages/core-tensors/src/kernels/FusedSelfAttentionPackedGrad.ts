/**
 * FusedSelfAttentionPackedGrad (native): dqkv [B,T,3·H·D] in one backward call. dq, dk and dv are the
 * three interleaved [B,T,H,D] views of ONE pooled output array; the kernel writes exactly the elements
 * each view's strides address (row by row, no whole-buffer fill) and every row of each view is written
 * by one work item, so together the three overwrite all of dqkv (garbage from the pool included) with
 * no races and no clobbering. The bias's gradient is FusedSelfAttentionPackedBiasGrad. Deterministic.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import {
  type FusedSelfAttentionPackedAttrs,
  FusedSelfAttentionPackedGrad,
  type FusedSelfAttentionPackedGradInputs,
} from '../kernel_names.js';
import { sizeOf } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';
import { checkPackedGradInputs, packedAttentionArgs, packedViews } from './packed_attention_args.js';

export const fusedSelfAttentionPackedGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as FusedSelfAttentionPackedGradInputs;
  const a = attrs as FusedSelfAttentionPackedAttrs;
  const { args, dims } = packedAttentionArgs(FusedSelfAttentionPackedGrad, cpu, ins, a);
  checkPackedGradInputs(FusedSelfAttentionPackedGrad, ins, dims);
  const { q, k, v } = packedViews(f32(cpu, ins.qkv), dims);
  const dqkv = outputF32(cpu, sizeOf(ins.qkv.shape));
  const d = packedViews(dqkv, dims);
  loadAddon().attentionBackward(
    args,
    q,
    k,
    v,
    f32(cpu, ins.out),
    f32(cpu, ins.lse),
    f32(cpu, ins.dy),
    d.q,
    d.k,
    d.v,
    null,
  );
  return cpu.makeTensorInfo(ins.qkv.shape, 'float32', dqkv);
};

export const fusedSelfAttentionPackedGradConfig: KernelConfig = {
  kernelName: FusedSelfAttentionPackedGrad,
  backendName: 'native',
  kernelFunc: fusedSelfAttentionPackedGrad,
};
