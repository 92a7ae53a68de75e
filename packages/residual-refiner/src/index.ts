// @anchor-refine/residual-refiner — phase-2 residual targets and loss (AnchorRefine Eq. 5, 7) and the
// residual-compactness diagnostic. The F_ref module itself arrives with the backbone.

export { type RefineLossOptions, type RefineTarget, refineLoss } from './loss.js';
export { type ResidualStats, type ResidualStatsOptions, residualStats } from './stats.js';
export { type ResidualTargetOptions, residualTarget } from './target.js';
