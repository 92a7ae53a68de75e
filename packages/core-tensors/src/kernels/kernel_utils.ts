/** Helpers for kernels running on the `native` backend (a MathBackendCPU: tensors are JS TypedArrays). */

import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/**
 * The stored Float32Array of a float32 tensor (no copy; never write into it). A float32 tensor may hold
 * an Int32Array / Uint8Array: tfjs-cpu's Cast to a wider dtype (bool or int32 → float32) shares its
 * input's data. Those are converted (copied).
 */
export function f32(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** The stored values of a bool/int/float tensor as a Uint8Array with 1 = nonzero (a view for bool). */
export function nonzeroMask(backend: MathBackendCPU, t: TensorInfo): Uint8Array {
  const values = backend.data.get(t.dataId).values as Uint8Array | Int32Array | Float32Array;
  if (t.dtype === 'bool' && values instanceof Uint8Array) return values;
  const m = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) m[i] = values[i] !== 0 ? 1 : 0;
  return m;
}

const cpuKernels = new Map<string, KernelFunc>();

/** The tfjs-cpu kernel function registered under `kernelName` (looked up once: small ops that stay in
 *  JS take this path on every call). */
export function cpuKernel(kernelName: string): KernelFunc {
  let fn = cpuKernels.get(kernelName);
  if (fn === undefined) {
    const k = tf.getKernel(kernelName, 'cpu');
    if (k === undefined) throw new Error(`core-tensors: tfjs-cpu has no kernel '${kernelName}'`);
    fn = k.kernelFunc;
    cpuKernels.set(kernelName, fn);
  }
  return fn;
}
