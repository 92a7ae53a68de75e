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
export { patchGrid, SpatialSoftmax } from './gr1/keypoints.js';
export {
  DEFAULT_MAE,
  type MaeConfig,
  MaeDecoder,
  maeLoss,
  randomMasks,
  validateMaeConfig,
  visibleCount,
} from './gr1/mae.js';
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
export {
  boxDownsample,
  type Gr1VideoConfig,
  VIDEO_TARGET_VAR_EPS,
  VideoPredictor,
  validateVideoConfig,
  videoLoss,
  videoTargets,
} from './gr1/video.js';
export { normalizeImages, VisionTransformer } from './gr1/vit.js';
export { type Gr1NameMapOptions, type Gr1NamePrefixes, gr1NameMap } from './names/gr1.js';
export {
  loadOfficialSafetensors,
  loadOfficialState,
  type NameEntry,
  type NameMap,
  type NameTransform,
  type OfficialLoadReport,
  officialState,
  officialToOurs,
  oursToOfficial,
  saveOfficialSafetensors,
} from './names/map.js';
export {
  lerobotXvlaName,
  type XvlaCheckpointFlavor,
  type XvlaNameMapOptions,
  xvlaNameMap,
  xvlaOfficialShapes,
} from './names/xvla.js';
export {
  type HfTokenizer,
  type HfTokenizerKind,
  type HfTokenizerOptions,
  hfTokenizerFromJson,
  isHfTokenizer,
  loadHfTokenizer,
  saveHfTokenizer,
} from './tokenizers/hf.js';
export type {
  Backbone,
  Context,
  EncodeOptions,
  HeadOptions,
  ObservationTensors,
  QueryTrunk,
  ReadoutHead,
  TrunkOptions,
} from './types.js';
export {
  davitGrid,
  type FlowObjective,
  florenceToyVl,
  type Rot6dOrder,
  validateXvlaConfig,
  type XvlaConfig,
  type XvlaFlorenceConfig,
  type XvlaLossWeights,
  type XvlaPreset,
  type XvlaSmallVlConfig,
  type XvlaVlConfig,
  xvlaConfig,
  xvlaContextTokens,
} from './xvla/config.js';
export { DomainAwareLinear, type DomainLinearOptions } from './xvla/domain_linear.js';
export {
  convertRot6dOrder,
  EE6D_DIM,
  EE6D_GRIPPER,
  EE6D_POSITION,
  EE6D_ROTATION,
  type Ee6dLoss,
  ee6dLoss,
  ee6dPostprocess,
  matrixToRot6d,
  rot6dToMatrix,
  zeroGripper,
} from './xvla/ee6d.js';
export {
  ChannelAttention,
  Conv2d,
  DaViT,
  DavitBlock,
  Florence2Encoder,
  WindowAttention,
} from './xvla/florence.js';
export {
  type Denoiser,
  flowTarget,
  noisyActions,
  sampleChunk,
  stratifiedTimes,
  timeEmbedding,
} from './xvla/flow.js';
export { type FlowGuide, guidanceWeight, sampleGuidedChunk } from './xvla/guided-flow.js';
export { type XvlaInputs, type XvlaLossResult, XvlaModel, type XvlaSample } from './xvla/model.js';
export {
  SoftPromptedTransformer,
  type SoftPromptedTransformerOptions,
  XvlaBlock,
  type XvlaConditioning,
  type XvlaTransformerOutput,
} from './xvla/transformer.js';
export { SmallVlEncoder, type VisionLanguageEncoder, type VlFeatures } from './xvla/vl.js';
