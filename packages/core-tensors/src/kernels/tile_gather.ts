/**
 * Tile and GatherV2 (float32) as block copies. tfjs-cpu computes both element by element through
 * TensorBuffer index arithmetic (~1 ms for a [32, 37, 128] tile); here every copied run is a
 * contiguous `TypedArray.set`. Other dtypes and GatherV2 with batchDims > 0 go to the tfjs-cpu kernels.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputF32 } from '../buffer_pool.js';
import { sizeOf } from '../shape_utils.js';
import { cpuKernel, f32 } from './kernel_utils.js';

/** Copies `n` floats; short runs by a loop (a `set` call costs more than a few element moves). */
function copyRun(dst: Float32Array, at: number, src: Float32Array, from: number, n: number): void {
  if (n >= 16) dst.set(src.subarray(from, from + n), at);
  else for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
}

/**
 * x [s0, …, s(r-1)] tiled by reps → [s0·reps0, …]: one pass per axis with reps > 1, innermost first.
 * Tiling axis d repeats each block [s(d), …, s(r-1)] (already tiled on the axes after d) reps(d) times.
 */
export function tileF32(
  x: Float32Array,
  shape: readonly number[],
  reps: readonly number[],
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Float32Array {
  const s = [...shape];
  const axes = s.map((_, d) => d).filter((d) => reps[d] !== 1);
  let cur = x;
  if (axes.length === 0 || sizeOf(s) === 0) {
    const out = alloc(sizeOf(s.map((d, i) => d * reps[i])));
    out.set(cur.subarray(0, out.length));
    return out;
  }
  for (let a = axes.length - 1; a >= 0; a--) {
    const d = axes[a];
    const r = reps[d];
    const inner = sizeOf(s.slice(d));
    const outer = cur.length / inner;
    const next = a === 0 ? alloc(cur.length * r) : new Float32Array(cur.length * r);
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < r; k++) copyRun(next, (o * r + k) * inner, cur, o * inner, inner);
    cur = next;
    s[d] *= r;
  }
  return cur;
}

const tile: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = args.attrs as { reps: number[] };
  if (x.dtype !== 'float32' || reps.length !== x.shape.length || reps.some((r) => !(r >= 0)))
    return cpuKernel('Tile')(args);
  const cpu = args.backend as MathBackendCPU;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = tileF32(f32(cpu, x), x.shape, reps, (n) => outputF32(cpu, n));
  return cpu.makeTensorInfo(outShape, 'float32', out);
};

/** GatherV2 (batchDims 0): x [outer, axisDim, inner] at indices → [outer, …indices.shape, inner]. */
const gatherV2: KernelFunc = (args) => {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims = 0 } = args.attrs as { axis: number; batchDims?: number };
  if (x.dtype !== 'float32' || batchDims !== 0) return cpuKernel('GatherV2')(args);
  const cpu = args.backend as MathBackendCPU;
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const idx = cpu.data.get(indices.dataId).values as ArrayLike<number>;
  const axisDim = x.shape[$axis];
  for (let j = 0; j < idx.length; j++)
    if (!(idx[j] >= 0 && idx[j] < axisDim))
      throw new Error(`GatherV2: index ${idx[j]} at position ${j} is outside [0, ${axisDim - 1}]`);
  const outer = sizeOf(x.shape.slice(0, $axis));
  const inner = sizeOf(x.shape.slice($axis + 1));
  const outShape = [...x.shape.slice(0, $axis), ...indices.shape, ...x.shape.slice($axis + 1)];
  const src = f32(cpu, x);
  const out = outputF32(cpu, outer * idx.length * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < idx.length; j++)
      copyRun(out, (o * idx.length + j) * inner, src, (o * axisDim + idx[j]) * inner, inner);
  return cpu.makeTensorInfo(outShape, 'float32', out);
};

export const tileConfig: KernelConfig = { kernelName: 'Tile', backendName: 'native', kernelFunc: tile };
export const gatherV2Config: KernelConfig = {
  kernelName: 'GatherV2',
  backendName: 'native',
  kernelFunc: gatherV2,
};
