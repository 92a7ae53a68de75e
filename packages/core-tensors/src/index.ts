/**
 * @anchor-refine/core-tensors: a tfjs backend `native` over the core-tensors addon (BLAS matmul, flash
 * attention, residual composition), differentiable fused ops with composite fallbacks, and backend
 * selection. Importing it registers the broadcast-correct BatchMatMul gradient (tfjs#8721) and the
 * gradients of the fused kernels.
 */
import './gradients/register_gradients.js';

export type {
  AdamWArgs,
  AddonFeatures,
  AttentionArgs,
  AttentionForwardFn,
  BlasCoreChoice,
  ComposeArgs,
  CoreTensorsAddon,
  GemmFn,
  LayoutStrides,
  ResidualComposeFn,
} from './addon.js';
export {
  BinaryOp,
  blasInfo,
  GEMM_ENGINES,
  type GemmEngine,
  loadAddon,
  NATIVE_MAX_RANK,
  ReduceOp,
  STRIDED_ATTENTION_API,
  setGemmEngine,
  UnaryOp,
} from './addon.js';
export { type BackendInfo, type BackendName, backendInfo, selectBackend, setThreads } from './backend.js';
export { type BufferPoolStats, bufferPoolStats, clearBufferPool } from './buffer_pool.js';
export { assertBinary, assertRank, assertSameShape, shapeText } from './checks.js';
export { cuda } from './cuda.js';
export {
  activeNativeAddon,
  inPlaceWrites,
  nativeHostValues,
  nativeOutputArray,
  nativeWritableValues,
} from './host_arrays.js';
export * as kernelNames from './kernel_names.js';
export { NATIVE_BACKEND } from './kernels/register_native_kernels.js';
export { attentionBias } from './ops/attention_bias.js';
export {
  ATTENTION_LAYOUTS,
  type AttentionLayout,
  bthdStrides,
  packedQkvStrides,
} from './ops/attention_layout.js';
export { composeResidual } from './ops/compose_residual.js';
export { composeResidualReference } from './ops/compose_residual_reference.js';
export type {
  ArmVector,
  ComposeInputs,
  ComposeOptions,
  ComposeOutputs,
  Unnormalize,
} from './ops/compose_types.js';
export { fusedAttention, MAX_NATIVE_HEAD_DIM } from './ops/fused_attention.js';
export { type FusedAttentionOptions, fusedAttentionReference } from './ops/fused_attention_reference.js';
export { fusedSelfAttentionPacked } from './ops/fused_self_attention_packed.js';
export {
  fusedSelfAttentionPackedReference,
  type PackedAttentionOptions,
} from './ops/fused_self_attention_packed_reference.js';
export { gelu } from './ops/gelu.js';
export { type GeluOptions, geluReference } from './ops/gelu_reference.js';
export { layerNorm } from './ops/layer_norm.js';
export { type LayerNormOptions, layerNormReference } from './ops/layer_norm_reference.js';
export { linear } from './ops/linear.js';
export { linearReference } from './ops/linear_reference.js';
export { noGrad } from './ops/no_grad.js';
export { stopGradient, withoutGradient } from './ops/stop_gradient.js';
