/** GeluGrad (native): dx = dy * gelu'(x) via ct_gelu_backward. */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { type GeluAttrs, GeluGrad, type GeluGradInputs } from '../kernel_names.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { geluMode } from './Gelu.js';
import { f32 } from './kernel_utils.js';

export const geluGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, dy } = inputs as unknown as GeluGradInputs;
  const tanh = geluMode(GeluGrad, x, attrs as GeluAttrs);
  if (dy.dtype !== 'float32' || dy.shape.join(',') !== x.shape.join(',')) {
    throw new Error(
      `${GeluGrad}: dy must be float32 ${shapeStr(x.shape)} (got ${shapeStr(dy.shape)} ${dy.dtype})`,
    );
  }
  const dx = outputF32(cpu, sizeOf(x.shape));
  loadAddon().geluBackward(tanh, f32(cpu, x), f32(cpu, dy), dx);
  return cpu.makeTensorInfo(x.shape, 'float32', dx);
};

export const geluGradConfig: KernelConfig = {
  kernelName: GeluGrad,
  backendName: 'native',
  kernelFunc: geluGrad,
};
