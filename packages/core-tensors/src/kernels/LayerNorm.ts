/**
 * LayerNorm (native): normalizes the last axis of x, y = (x - mean) * rstd * gamma + beta, via
 * ct_layernorm_forward. Outputs [y, mean, rstd] (mean/rstd are saved for LayerNormGrad).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { LayerNorm, type LayerNormAttrs, type LayerNormInputs } from '../kernel_names.js';
import { shapeStr, sizeOf } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';

export interface LayerNormGeometry {
  rows: number;
  dim: number;
  rowShape: number[];
}

/** Checks x (float32, rank >= 1) and gamma/beta ([dim] when present); throws naming `op` and the shapes. */
export function layerNormGeometry(
  op: string,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  attrs: LayerNormAttrs,
): LayerNormGeometry {
  if (x.dtype !== 'float32' || x.shape.length < 1) {
    throw new Error(`${op}: x must be float32 of rank >= 1 (got ${shapeStr(x.shape)} ${x.dtype})`);
  }
  const dim = x.shape[x.shape.length - 1];
  for (const [name, t, has] of [
    ['gamma', gamma, attrs.hasGamma],
    ['beta', beta, attrs.hasBeta],
  ] as const) {
    if (has && (t.dtype !== 'float32' || t.shape.length !== 1 || t.shape[0] !== dim)) {
      throw new Error(
        `${op}: ${name} must be float32 [${dim}] to match x ${shapeStr(x.shape)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
  const rowShape = x.shape.slice(0, -1);
  return { rows: sizeOf(rowShape), dim, rowShape };
}

export const layerNorm: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, gamma, beta } = inputs as unknown as LayerNormInputs;
  const a = attrs as LayerNormAttrs;
  const g = layerNormGeometry(LayerNorm, x, gamma, beta, a);
  const y = outputF32(cpu, g.rows * g.dim);
  const mean = outputF32(cpu, g.rows);
  const rstd = outputF32(cpu, g.rows);
  loadAddon().layerNormForward(
    g.rows,
    g.dim,
    a.eps,
    f32(cpu, x),
    a.hasGamma ? f32(cpu, gamma) : null,
    a.hasBeta ? f32(cpu, beta) : null,
    y,
    mean,
    rstd,
  );
  return [
    cpu.makeTensorInfo(x.shape, 'float32', y),
    cpu.makeTensorInfo(g.rowShape, 'float32', mean),
    cpu.makeTensorInfo(g.rowShape, 'float32', rstd),
  ];
};

export const layerNormConfig: KernelConfig = {
  kernelName: LayerNorm,
  backendName: 'native',
  kernelFunc: layerNorm,
};
