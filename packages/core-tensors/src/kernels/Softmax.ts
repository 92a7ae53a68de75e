/**
 * Softmax (native): softmax over the last axis of a float32 tensor via ct_softmax_forward. tfjs's
 * Softmax op only allows the last axis (attr dim = -1 or rank-1); anything else, and other dtypes,
 * go to the tfjs-cpu kernel. The gradient is tfjs's registered one (Mul/Sum/Sub: native kernels too).
 */
import type { KernelConfig, KernelFunc, SoftmaxAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { sizeOf } from '../shape_utils.js';
import { cpuKernel, f32 } from './kernel_utils.js';

export const softmax: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { logits } = inputs as { logits: TensorInfo };
  const rank = logits.shape.length;
  const { dim } = attrs as unknown as SoftmaxAttrs;
  if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) {
    return cpuKernel('Softmax')({ inputs, backend, attrs });
  }
  const cols = logits.shape[rank - 1];
  const rows = cols === 0 ? 0 : sizeOf(logits.shape) / cols;
  const y = outputF32(cpu, sizeOf(logits.shape));
  loadAddon().softmaxForward(rows, cols, f32(cpu, logits), y);
  return cpu.makeTensorInfo(logits.shape, 'float32', y);
};

export const softmaxConfig: KernelConfig = {
  kernelName: 'Softmax',
  backendName: 'native',
  kernelFunc: softmax,
};
