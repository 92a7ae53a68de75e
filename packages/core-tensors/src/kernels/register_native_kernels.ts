/** Registers the native overrides on the `native` backend (which already holds copies of every cpu kernel). */

import type { KernelConfig } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { fusedMatMulConfig } from './_FusedMatMul.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { composeResidualConfig } from './ComposeResidual.js';
import { composeResidualGradConfig } from './ComposeResidualGrad.js';
import { fusedAttentionConfig } from './FusedAttention.js';
import { fusedAttentionGradConfig } from './FusedAttentionGrad.js';

/** No '_' in the name: tfjs splits registry keys on it (copyRegisteredKernels would find nothing). */
export const NATIVE_BACKEND = 'native';

const nativeKernelConfigs: KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  fusedAttentionConfig,
  fusedAttentionGradConfig,
  composeResidualConfig,
  composeResidualGradConfig,
];

let registered = false;

export function registerNativeKernels(): void {
  if (registered) return;
  for (const config of nativeKernelConfigs) {
    // copyRegisteredKernels put the cpu BatchMatMul/_FusedMatMul there; replace them without tfjs's warning
    if (tf.getKernel(config.kernelName, NATIVE_BACKEND) !== undefined) {
      tf.unregisterKernel(config.kernelName, NATIVE_BACKEND);
    }
    tf.registerKernel(config);
  }
  registered = true;
}

export function nativeKernelNames(): string[] {
  return nativeKernelConfigs.map((c) => c.kernelName);
}
