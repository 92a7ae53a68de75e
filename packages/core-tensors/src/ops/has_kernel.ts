import * as tf from '@tensorflow/tfjs';

/** True when the active backend has `kernelName` registered (e.g. the `native` backend's fused kernels). */
export function activeBackendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
