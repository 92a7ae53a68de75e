/** Registers the native overrides on the `native` backend (which already holds copies of every cpu kernel). */

import type { KernelConfig } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { fusedMatMulConfig } from './_FusedMatMul.js';
import { absConfig } from './Abs.js';
import { addConfig } from './Add.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { composeResidualConfig } from './ComposeResidual.js';
import { composeResidualGradConfig } from './ComposeResidualGrad.js';
import { erfConfig } from './Erf.js';
import { expConfig } from './Exp.js';
import { fusedAttentionConfig } from './FusedAttention.js';
import { fusedAttentionBiasGradConfig } from './FusedAttentionBiasGrad.js';
import { fusedAttentionGradConfig } from './FusedAttentionGrad.js';
import { fusedSelfAttentionPackedConfig } from './FusedSelfAttentionPacked.js';
import { fusedSelfAttentionPackedBiasGradConfig } from './FusedSelfAttentionPackedBiasGrad.js';
import { fusedSelfAttentionPackedGradConfig } from './FusedSelfAttentionPackedGrad.js';
import { geluConfig } from './Gelu.js';
import { geluGradConfig } from './GeluGrad.js';
import { layerNormConfig } from './LayerNorm.js';
import { layerNormGradConfig } from './LayerNormGrad.js';
import { linearConfig, linearInputGradConfig, linearWeightGradConfig } from './Linear.js';
import { logConfig } from './Log.js';
import { maxConfig } from './Max.js';
import { maximumConfig } from './Maximum.js';
import { meanConfig } from './Mean.js';
import { minimumConfig } from './Minimum.js';
import { multiplyConfig } from './Multiply.js';
import { negConfig } from './Neg.js';
import { realDivConfig } from './RealDiv.js';
import { reluConfig } from './Relu.js';
import { rsqrtConfig } from './Rsqrt.js';
import {
  concatConfig,
  padV2Config,
  sliceConfig,
  splitVConfig,
  unsortedSegmentSumConfig,
} from './region_kernels.js';
import { sigmoidConfig } from './Sigmoid.js';
import { softmaxConfig } from './Softmax.js';
import { sqrtConfig } from './Sqrt.js';
import { squareConfig } from './Square.js';
import { squaredDifferenceConfig } from './SquaredDifference.js';
import { subConfig } from './Sub.js';
import { sumConfig } from './Sum.js';
import { tanhConfig } from './Tanh.js';
import { transposeConfig } from './Transpose.js';
import { gatherV2Config, tileConfig } from './tile_gather.js';

/** No '_' in the name: tfjs splits registry keys on it (copyRegisteredKernels would find nothing). */
export const NATIVE_BACKEND = 'native';

const nativeKernelConfigs: KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  fusedAttentionConfig,
  fusedAttentionGradConfig,
  fusedAttentionBiasGradConfig,
  fusedSelfAttentionPackedConfig,
  fusedSelfAttentionPackedGradConfig,
  fusedSelfAttentionPackedBiasGradConfig,
  composeResidualConfig,
  composeResidualGradConfig,
  // elementwise / reductions / transpose (float32 native, other dtypes delegate to tfjs-cpu)
  addConfig,
  subConfig,
  multiplyConfig,
  realDivConfig,
  maximumConfig,
  minimumConfig,
  squaredDifferenceConfig,
  expConfig,
  logConfig,
  negConfig,
  sqrtConfig,
  rsqrtConfig,
  squareConfig,
  tanhConfig,
  sigmoidConfig,
  reluConfig,
  erfConfig,
  absConfig,
  sumConfig,
  meanConfig,
  maxConfig,
  transposeConfig,
  // fused layer norm and GELU (forward + backward kernels)
  layerNormConfig,
  layerNormGradConfig,
  geluConfig,
  geluGradConfig,
  // nn.Linear in one call each way (no Reshape/Add around the GEMM)
  linearConfig,
  linearInputGradConfig,
  linearWeightGradConfig,
  // softmax over the last axis (forward; the registered gradient runs on the native elementwise kernels)
  softmaxConfig,
  // box copies (each is the other's gradient)
  sliceConfig,
  padV2Config,
  splitVConfig,
  concatConfig,
  // the gradient of Gather (embeddings): one pass instead of tfjs-cpu's O(N·segments)
  unsortedSegmentSumConfig,
  // block copies instead of tfjs-cpu's per-element index arithmetic
  tileConfig,
  gatherV2Config,
];

let registered = false;

export function registerNativeKernels(): void {
  if (registered) return;
  for (const config of nativeKernelConfigs) {
    // copyRegisteredKernels put the cpu kernels (BatchMatMul, Add, ...) there; replace them without tfjs's warning
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
