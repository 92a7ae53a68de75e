export { computeDatasetStats } from './dataset-stats.js';
export { ConfigError, DatasetError } from './errors.js';
export {
  DEFAULT_FEATURES,
  FEATURE_DTYPES,
  type FeatureDtype,
  type FeatureSpec,
  imageLayout,
  numel,
  validateFeatures,
} from './features.js';
export { type GripperConvention, GripperMapping, type GripperMappingConfig } from './gripper.js';
export {
  DEFAULT_MAX_IMAGE_PIXELS,
  type DecodedImage,
  type DecodeImageOptions,
  decodeImage,
  encodePng,
  type ImageHeader,
  type ImageSource,
  pngRawBytes,
  readImageHeader,
  resizeBilinear,
} from './image-codec.js';
export { type CodebaseVersion, type DatasetInfo, formatTemplate, parseInfo, parseSplit } from './info.js';
export { DataLoader, type DataLoaderOptions } from './loader.js';
export {
  createNormalizer,
  NORM_EPS,
  NORM_MODES,
  Normalizer,
  type NormalizerJson,
  type NormMode,
} from './normalize.js';
export {
  type EpisodeInfo,
  type ImageOptions,
  LeRobotDataset,
  type OpenOptions,
  openDataset,
  type ReadValue,
} from './reader.js';
export { mulberry32 } from './rng.js';
export { type SampleBatch, Sampler, type Split } from './sampler.js';
export { type ResolvedSamplerConfig, type SamplerConfig, validateSamplerConfig } from './sampler-config.js';
export {
  aggregateDatasetStats,
  aggregateStats,
  computeImageStats,
  computeStats,
  type DatasetStats,
  type FeatureStats,
  QUANTILES,
} from './stats.js';
export {
  DEFAULT_VIDEO_ENCODING,
  FFMPEG_MISSING,
  ffmpegAvailable,
  type VideoEncoding,
  videoDecodeStats,
} from './video.js';
export { DatasetWriter, type FrameValue, type WriterOptions } from './writer.js';
