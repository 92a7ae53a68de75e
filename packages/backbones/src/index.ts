// @anchor-refine/backbones — VLA backbones behind one contract (types.ts): GR-1 (regression) now,
// X-VLA (flow / denoise) next.

export {
  type Gr1Config,
  type Gr1Preset,
  type Gr1ResamplerConfig,
  type Gr1TextConfig,
  type Gr1VisionConfig,
  gr1Config,
  validateGr1Config,
} from './gr1/config.js';
export { Gr1Head, type Gr1HeadOptions } from './gr1/head.js';
export { Gr1Backbone, type Gr1BackboneOptions } from './gr1/model.js';
export { PerceiverResampler } from './gr1/perceiver.js';
export { TextEncoder } from './gr1/text.js';
export {
  BYTE_BOS,
  BYTE_EOS,
  BYTE_PAD,
  ByteTokenizer,
  type Tokenizer,
  tokenizeBatch,
} from './gr1/tokenizer.js';
export { Gr1Trunk, gr1AttentionBias } from './gr1/trunk.js';
export { VisionTransformer } from './gr1/vit.js';
export type {
  Backbone,
  Context,
  HeadOptions,
  ObservationTensors,
  QueryTrunk,
  ReadoutHead,
  TrunkOptions,
} from './types.js';
