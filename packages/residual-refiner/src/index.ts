// @anchor-refine/residual-refiner — F_ref (Eq. 6), residual targets and loss (Eq. 5, 7) and the
// residual-compactness diagnostic.

export { type RefineLossOptions, type RefineTarget, refineLoss } from './loss.js';
export {
  type RefinerInput,
  type RefinerOutput,
  ResidualRefiner,
  type ResidualRefinerOptions,
} from './refiner.js';
export { type ResidualStats, type ResidualStatsOptions, residualStats } from './stats.js';
export { type ResidualTargetOptions, residualTarget } from './target.js';
export { RefinerVision, type RefinerVisionConfig, validateRefinerVision } from './vision.js';
