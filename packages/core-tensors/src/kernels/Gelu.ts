/** Gelu (native): exact-erf or tanh GELU of a float32 tensor via ct_gelu_forward. */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { Gelu, type GeluAttrs, type GeluInputs } from '../kernel_names.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';

/** Validates the attrs and a float32 x; returns whether the tanh approximation is asked for. */
export function geluMode(op: string, x: TensorInfo, attrs: GeluAttrs): boolean {
  if (x.dtype !== 'float32')
    throw new Error(`${op}: x must be float32 (got ${shapeStr(x.shape)} ${x.dtype})`);
  if (attrs.approximate !== 'none' && attrs.approximate !== 'tanh') {
    throw new Error(`${op}: approximate must be 'none' or 'tanh', got '${String(attrs.approximate)}'`);
  }
  return attrs.approximate === 'tanh';
}

export const gelu: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x } = inputs as unknown as GeluInputs;
  const tanh = geluMode(Gelu, x, attrs as GeluAttrs);
  const y = outputF32(cpu, sizeOf(x.shape));
  loadAddon().geluForward(tanh, f32(cpu, x), y);
  return cpu.makeTensorInfo(x.shape, 'float32', y);
};

export const geluConfig: KernelConfig = { kernelName: Gelu, backendName: 'native', kernelFunc: gelu };
