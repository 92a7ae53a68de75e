/**
 * BatchMatMul on the native backend: float32 through the addon's GEMM (one GEMM when B is shared by
 * every batch, else ct_bmm with broadcast index maps); other dtypes go to the tfjs-cpu kernel.
 */
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { broadcastIndexMap, broadcastShapes, shapeStr, sizeOf } from '../shape_utils.js';
import { cpuKernel, f32 } from './kernel_utils.js';

export interface MatMulGeometry {
  outShape: number[];
  batchShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
}

/** Validates a BatchMatMul call and returns its geometry; throws an Error naming `op` and both shapes. */
export function matMulGeometry(
  op: string,
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulGeometry {
  const fail = (why: string): never => {
    throw new Error(
      `${op}: ${why} (a ${shapeStr(aShape)}, b ${shapeStr(bShape)}, transposeA=${transposeA}, transposeB=${transposeB})`,
    );
  };
  if (aShape.length < 2 || bShape.length < 2) fail('inputs must have rank >= 2');
  const ar = aShape.length;
  const br = bShape.length;
  const m = transposeA ? aShape[ar - 1] : aShape[ar - 2];
  const kA = transposeA ? aShape[ar - 2] : aShape[ar - 1];
  const kB = transposeB ? bShape[br - 1] : bShape[br - 2];
  const n = transposeB ? bShape[br - 2] : bShape[br - 1];
  if (kA !== kB) fail(`inner dimensions differ (${kA} vs ${kB})`);
  const batchShape = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2));
  if (batchShape === undefined) fail('batch dimensions do not broadcast');
  const bs = batchShape as number[];
  return { outShape: [...bs, m, n], batchShape: bs, batch: sizeOf(bs), m, n, k: kA };
}

/** float32 a @ b with numpy batch broadcasting; returns a new TensorInfo owned by the caller. */
export function nativeBatchMatMul(
  backend: MathBackendCPU,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const g = matMulGeometry('BatchMatMul', a.shape, b.shape, transposeA, transposeB);
  const out = outputF32(backend, sizeOf(g.outShape));
  if (g.k === 0) out.fill(0);
  else if (out.length > 0) {
    const addon = loadAddon();
    const av = f32(backend, a);
    const bv = f32(backend, b);
    const aIndex = broadcastIndexMap(a.shape.slice(0, -2), g.batchShape);
    const bShared = sizeOf(b.shape.slice(0, -2)) === 1;
    if (bShared && aIndex === null && !transposeA) {
      // every batch multiplies the same B: one GEMM over [batch*m, k] x op(B) -> [batch*m, n]
      addon.gemm(false, transposeB, g.batch * g.m, g.n, g.k, 1, av, bv, 0, out);
    } else {
      const bIndex = broadcastIndexMap(b.shape.slice(0, -2), g.batchShape);
      addon.bmm(transposeA, transposeB, g.batch, g.m, g.n, g.k, av, aIndex, bv, bIndex, out);
    }
  }
  return backend.makeTensorInfo(g.outShape, 'float32', out);
}

export const batchMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32')
    return cpuKernel('BatchMatMul')({ inputs, backend, attrs });
  return nativeBatchMatMul(backend as MathBackendCPU, a, b, transposeA, transposeB);
};

export const batchMatMulConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'native',
  kernelFunc: batchMatMul,
};
