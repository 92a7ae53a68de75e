/**
 * _FusedMatMul on the native backend: the matmul through the addon, then bias and activation.
 * The output array is ours, so a row bias ([n] or [1,…,n]) and the element-wise activations are applied
 * in place; other bias shapes go through the cpu Add kernel and prelu through the cpu Prelu kernel.
 * (The stock cpu kernel calls its JS batchMatMul directly, not through the registry, hence this override.)
 */
import type {
  _FusedMatMulAttrs,
  _FusedMatMulInputs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { nativeBatchMatMul } from './BatchMatMul.js';
import { cpuKernel, f32 } from './kernel_utils.js';

type Activation = _FusedMatMulAttrs['activation'];

function activateInPlace(x: Float32Array, activation: Activation, alpha: number): void {
  switch (activation) {
    case 'relu':
      for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
      return;
    case 'relu6':
      for (let i = 0; i < x.length; i++) x[i] = Math.min(Math.max(x[i], 0), 6);
      return;
    case 'elu':
      for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = Math.exp(x[i]) - 1;
      return;
    case 'leakyrelu':
      for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] *= alpha;
      return;
    case 'sigmoid':
      for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
      return;
    default:
      throw new Error(`_FusedMatMul: activation '${activation}' is not supported by the native backend`);
  }
}

export const fusedMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, bias, preluActivationWeights } = inputs as _FusedMatMulInputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as _FusedMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32')
    return cpuKernel('_FusedMatMul')({ inputs, backend, attrs });
  const cpu = backend as MathBackendCPU;
  let current = nativeBatchMatMul(cpu, a, b, transposeA, transposeB);
  const values = f32(cpu, current); // freshly allocated by us: safe to write
  const n = current.shape[current.shape.length - 1];
  if (bias) {
    if (bias.dtype !== 'float32') {
      cpu.disposeIntermediateTensorInfo(current);
      throw new Error(`_FusedMatMul: bias must be float32 (bias ${shapeStr(bias.shape)} ${bias.dtype})`);
    }
    const rowBias =
      bias.shape.length <= current.shape.length &&
      sizeOf(bias.shape) === n &&
      (n === 1 || bias.shape.at(-1) === n);
    if (rowBias) {
      const bv = f32(cpu, bias);
      for (let i = 0; i < values.length; i += n) for (let j = 0; j < n; j++) values[i + j] += bv[j];
    } else {
      const added = cpuKernel('Add')({ inputs: { a: current, b: bias }, backend }) as TensorInfo;
      cpu.disposeIntermediateTensorInfo(current);
      current = added;
    }
  }
  if (activation === 'prelu') {
    if (!preluActivationWeights) {
      cpu.disposeIntermediateTensorInfo(current);
      throw new Error('_FusedMatMul: activation prelu needs preluActivationWeights');
    }
    const activated = cpuKernel('Prelu')({
      inputs: { x: current, alpha: preluActivationWeights },
      backend,
    }) as TensorInfo;
    cpu.disposeIntermediateTensorInfo(current);
    return activated;
  }
  if (activation !== undefined && activation !== 'linear') {
    try {
      activateInPlace(f32(cpu, current), activation, leakyreluAlpha ?? 0.2);
    } catch (err) {
      cpu.disposeIntermediateTensorInfo(current);
      throw err;
    }
  }
  return current;
};

export const fusedMatMulConfig: KernelConfig = {
  kernelName: '_FusedMatMul',
  backendName: 'native',
  kernelFunc: fusedMatMul,
};
