// @anchor-refine/policy — AnchorRefinePolicy: backbone + anchor planner + residual refiner + decision-aware
// gripper; phases and freezing; ablation variants; inference queue; checkpoints.

export {
  type AnyPolicy,
  type AnyPolicyConfig,
  BACKBONE_TYPES,
  type BackboneType,
  createPolicy,
  externalTokenizer,
  isXvlaConfig,
  type PolicyShape,
  policyShape,
  validateAnyPolicyConfig,
} from './any.js';
export { PolicyBase } from './base.js';
export {
  type ArrayWithShape,
  type BatchTensors,
  batchToTensors,
  disposeBatchTensors,
  imagesToFloat,
  type PolicyBatch,
} from './batch.js';
export {
  CHECKPOINT_FILES,
  type LoadPolicyOptions,
  loadPolicy,
  loadPolicyConfig,
  savePolicy,
} from './checkpoint.js';
export { actionUnnormalizer, type ChunkParts, composeChunk } from './chunk.js';
export {
  type AnchorConfig,
  type DeepPartial,
  type ExecutionConfig,
  mergeConfig,
  type PolicyConfig,
  policyConfig,
  type RefineConfig,
  validatePolicyConfig,
} from './config.js';
export {
  type ActionChunk,
  AnchorRefinePolicy,
  type ForwardMetrics,
  type ForwardResult,
  type Phase,
  type PolicyObservation,
  type PolicyOptions,
} from './policy.js';
export { ActionSelector, type ChunkPrediction, ChunkQueue, chunkStep, TemporalEnsembler } from './queue.js';
export {
  applyGuide,
  type ChunkGuide,
  DEFAULT_MAX_GUIDANCE_WEIGHT,
  softPrefixMask,
  validateGuide,
} from './rtc.js';
export {
  affine,
  type FeatureStats,
  identityStats,
  type NormalizationMode,
  type PolicyStats,
  validateStats,
} from './stats.js';
export { SyntheticReachTask, type SyntheticTaskOptions } from './synthetic.js';
export {
  type TrainablePolicy,
  type TrainStepOptions,
  type TrainStepResult,
  trainStep,
  trainUnfrozen,
} from './train_step.js';
export {
  defaultLayout,
  validateXvlaPolicyConfig,
  type XvlaAnchorConfig,
  type XvlaLayout,
  type XvlaPolicyConfig,
  type XvlaRefineConfig,
  xvlaPolicyConfig,
} from './xvla/config.js';
export { importOfficialXvla, type OfficialXvlaImport } from './xvla/official.js';
export {
  type XvlaAnchorOutput,
  XvlaAnchorRefinePolicy,
  type XvlaRefineOutput,
} from './xvla/policy.js';
export { trainPolicyStep } from './xvla/train_step.js';
