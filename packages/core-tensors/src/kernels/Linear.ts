/**
 * Linear, LinearInputGrad, LinearWeightGrad (native): a whole nn.Linear in one kernel call each way.
 * Linear folds the leading axes of x into GEMM rows (no Reshape kernels), runs y = x·Wᵀ and adds the
 * bias after the product (ct_linear_forward), so y is bit-identical to matMul + add. The gradients are
 * one GEMM each on the same folded rows: dx = dy·W and dW = dyᵀ·x (the bias gradient is a Sum).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import {
  Linear,
  type LinearAttrs,
  LinearInputGrad,
  type LinearInputGradInputs,
  type LinearInputs,
  LinearWeightGrad,
  type LinearWeightGradInputs,
} from '../kernel_names.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';

function fail(op: string, why: string, parts: Record<string, TensorInfo>): never {
  const got = Object.entries(parts)
    .map(([name, t]) => `${name} ${shapeStr(t.shape)} ${t.dtype}`)
    .join(', ');
  throw new Error(`${op}: ${why} (got ${got})`);
}

/** weight [out, in] float32 and t float32 of rank >= 1; returns [out, in]. */
function weightDims(op: string, weight: TensorInfo, t: TensorInfo, tName: string): [number, number] {
  const parts = { [tName]: t, weight };
  if (weight.dtype !== 'float32' || t.dtype !== 'float32') fail(op, 'inputs must be float32', parts);
  if (weight.shape.length !== 2) fail(op, 'weight must be [out, in]', parts);
  if (t.shape.length < 1) fail(op, `${tName} must have rank >= 1`, parts);
  return [weight.shape[0], weight.shape[1]];
}

export const linear: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, weight, bias } = inputs as unknown as LinearInputs;
  const { hasBias } = attrs as LinearAttrs;
  const [n, k] = weightDims(Linear, weight, x, 'x');
  if (x.shape[x.shape.length - 1] !== k) fail(Linear, `x's last axis must be in = ${k}`, { x, weight });
  if (hasBias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n))
    fail(Linear, `bias must be float32 [${n}]`, { x, weight, bias });
  const outShape = [...x.shape.slice(0, -1), n];
  const rows = sizeOf(x.shape.slice(0, -1)); // the leading axes fold into GEMM rows
  const y = outputF32(cpu, rows * n);
  loadAddon().linearForward(rows, n, k, f32(cpu, x), f32(cpu, weight), hasBias ? f32(cpu, bias) : null, y);
  return cpu.makeTensorInfo(outShape, 'float32', y);
};

export const linearInputGrad: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { dy, weight } = inputs as unknown as LinearInputGradInputs;
  const [n, k] = weightDims(LinearInputGrad, weight, dy, 'dy');
  if (dy.shape[dy.shape.length - 1] !== n)
    fail(LinearInputGrad, `dy's last axis must be out = ${n}`, { dy, weight });
  const rows = sizeOf(dy.shape.slice(0, -1));
  const dx = outputF32(cpu, rows * k);
  if (n === 0) dx.fill(0);
  else if (dx.length > 0)
    loadAddon().gemm(false, false, rows, k, n, 1, f32(cpu, dy), f32(cpu, weight), 0, dx);
  return cpu.makeTensorInfo([...dy.shape.slice(0, -1), k], 'float32', dx);
};

export const linearWeightGrad: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { dy, x } = inputs as unknown as LinearWeightGradInputs;
  const parts = { dy, x };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32')
    fail(LinearWeightGrad, 'inputs must be float32', parts);
  if (dy.shape.length < 1 || dy.shape.length !== x.shape.length)
    fail(LinearWeightGrad, 'dy and x must have the same rank >= 1', parts);
  if (dy.shape.slice(0, -1).join(',') !== x.shape.slice(0, -1).join(','))
    fail(LinearWeightGrad, 'dy and x must have the same leading axes', parts);
  const n = dy.shape[dy.shape.length - 1];
  const k = x.shape[x.shape.length - 1];
  const rows = sizeOf(dy.shape.slice(0, -1));
  const dw = outputF32(cpu, n * k);
  if (rows === 0) dw.fill(0);
  else if (dw.length > 0) loadAddon().gemm(true, false, n, k, rows, 1, f32(cpu, dy), f32(cpu, x), 0, dw);
  return cpu.makeTensorInfo([n, k], 'float32', dw);
};

export const linearConfig: KernelConfig = { kernelName: Linear, backendName: 'native', kernelFunc: linear };
export const linearInputGradConfig: KernelConfig = {
  kernelName: LinearInputGrad,
  backendName: 'native',
  kernelFunc: linearInputGrad,
};
export const linearWeightGradConfig: KernelConfig = {
  kernelName: LinearWeightGrad,
  backendName: 'native',
  kernelFunc: linearWeightGrad,
};
