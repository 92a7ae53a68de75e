/**
 * Host-array access for code outside the kernels that runs one native pass over many tensors (the
 * optimizer and gradient clipping in @anchor-refine/nn): read a tensor's stored array without marking it
 * handed out (dataSync() would stop the buffer pool from ever reusing it), and take pooled arrays for new
 * tensors. Only on the `native` backend; everywhere else these return undefined and callers use tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type CoreTensorsAddon, loadAddon } from './addon.js';
import { isPoolPrivate, outputF32 } from './buffer_pool.js';
import { NATIVE_BACKEND } from './kernels/register_native_kernels.js';

function nativeBackend(): MathBackendCPU | undefined {
  return tf.getBackend() === NATIVE_BACKEND ? (tf.backend() as MathBackendCPU) : undefined;
}

/** The addon when the active backend is `native` (its tensors are host arrays the addon can read). */
export function activeNativeAddon(): CoreTensorsAddon | undefined {
  return nativeBackend() ? loadAddon() : undefined;
}

/**
 * The stored Float32Array of a float32 tensor on the active `native` backend: READ-ONLY and only for the
 * duration of the caller's pass (never keep it, never write it). undefined elsewhere.
 */
export function nativeHostValues(t: tf.Tensor): Float32Array | undefined {
  const backend = nativeBackend();
  if (!backend || t.dtype !== 'float32' || t.isDisposed || !backend.data.has(t.dataId)) return undefined;
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : undefined;
}

/**
 * An array of n floats for a new tensor on the `native` backend (`tf.tensor(array, shape)`), reused from
 * the buffer pool: its contents are garbage, so the caller must write every element. Throws elsewhere.
 */
export function nativeOutputArray(n: number): Float32Array {
  const backend = nativeBackend();
  if (!backend)
    throw new Error(`nativeOutputArray: the active backend is '${tf.getBackend()}', not 'native'`);
  return outputF32(backend, n);
}

/**
 * The stored Float32Array of `t` when the caller may OVERWRITE it in place, which is when nothing but `t`
 * can observe the change: the backend is `native`, `t`'s dataId has refCount 1 (no clone, reshape or
 * saved-for-gradient alias shares it) and the buffer pool proves the array private (allocated by the
 * pool, stored under that one dataId, never handed out by dataSync()/data()). undefined otherwise; then
 * write a new tensor instead. For state the caller owns outright (optimizer moments, its parameters).
 */
export function nativeWritableValues(t: tf.Tensor): Float32Array | undefined {
  const backend = nativeBackend();
  if (!backend || t.dtype !== 'float32' || t.isDisposed || !backend.data.has(t.dataId)) return undefined;
  const entry = backend.data.get(t.dataId);
  if (entry === undefined || entry.refCount !== 1) return undefined;
  const values = entry.values;
  if (!(values instanceof Float32Array) || !isPoolPrivate(backend, values)) return undefined;
  writes += 1;
  return values;
}

let writes = 0;

/**
 * How many arrays nativeWritableValues has handed out for writing so far: a tensor's values can change
 * in place without its dataId changing, so a cache of results derived from weights (e.g. inference-time
 * encodings) compares this count too.
 */
export function inPlaceWrites(): number {
  return writes;
}
