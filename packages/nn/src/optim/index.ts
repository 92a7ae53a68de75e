export { ADAMW_DEFAULTS, ADAMW_SLOTS, AdamW, type AdamWConfig } from './adamw.js';
export {
  CLIP_GRAD_NORM_DEFAULTS,
  type ClipGradNormOptions,
  type ClipGradNormResult,
  type ClipGradScaleResult,
  clipGradNorm,
  clipGradScale,
} from './clip.js';
export { EMA_UPDATES_KEY, Ema, type EmaConfig } from './ema.js';
export { type GradientStepOptions, type GradientStepResult, gradientStep } from './gradient_step.js';
export { type GradMap, gradsByParamName, type TensorMap } from './grads.js';
export {
  GLOBAL_STEP_KEY,
  Optimizer,
  type OptimizerStateDict,
  type OptimizerStepOptions,
  type ParamGroupInfo,
  type ParamState,
} from './optimizer.js';
export {
  DEFAULT_GROUP,
  isNoDecayParam,
  type NamedParameters,
  NO_DECAY_NAME,
  noDecayRule,
  type ParamGroupRule,
  type ParamMatcher,
  type ResolvedGroup,
  type ResolvedParam,
} from './params.js';
export {
  type CosineWithWarmupConfig,
  constantSchedule,
  cosineWithWarmup,
  type LinearWarmupConfig,
  type LinearWarmupDecayConfig,
  type LrSchedule,
  linearWarmup,
  linearWarmupDecay,
  type WarmupOptions,
} from './schedules.js';
export { SGD, type SGDConfig } from './sgd.js';
