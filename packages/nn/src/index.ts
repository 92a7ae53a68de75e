// @anchor-refine/nn — public API. Each section is owned by the file(s) it re-exports.

// modules and layers
// (module.ts, layers/*.ts, init.ts)

export { addFlops, countFlops, type FlopCount } from './flops.js';
export type { Initializer } from './init.js';
export * as init from './init.js';
export {
  type ActivationName,
  activation,
  gelu,
  geluTanh,
  quickGelu,
  relu,
  silu,
} from './layers/activation.js';
export {
  type AttentionForwardOptions,
  MultiHeadAttention,
  type MultiHeadAttentionOptions,
} from './layers/attention.js';
export { Dropout } from './layers/dropout.js';
export {
  Embedding,
  type EmbeddingOptions,
  LearnedPositionalEmbedding,
  type LearnedPositionalEmbeddingOptions,
} from './layers/embedding.js';
export { LayerNorm, type LayerNormOptions } from './layers/layer_norm.js';
export { Linear, type LinearInit, type LinearOptions } from './layers/linear.js';
export { MLP, type MLPOptions } from './layers/mlp.js';
export { type SinusoidalOptions, sinusoidalEmbedding } from './layers/sinusoidal.js';
export {
  type AttentionMode,
  type BlockForwardOptions,
  type InitScheme,
  Transformer,
  TransformerBlock,
  type TransformerBlockConfig,
  type TransformerConfig,
} from './layers/transformer.js';
export {
  type BufferOptions,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  ModuleList,
  type ParameterOptions,
  type TensorSource,
} from './module.js';
export { defaultRng, manualSeed, Rng } from './random.js';
// (end of modules and layers)

// optimization and checkpoints
// (optim/*.ts, safetensors/*.ts)
export * from './optim/index.js';
export * from './safetensors/index.js';
