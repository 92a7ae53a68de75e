// @anchor-refine/anchor-planner — F_anc and L_anc (AnchorRefine Eq. 3–4).

export {
  type AnchorLoss,
  type AnchorLossOptions,
  anchorLoss,
  bceWithLogits,
  type Reconstruction,
  smoothL1,
} from './loss.js';
export { type AnchorOutput, AnchorPlanner, type AnchorPlannerOptions } from './planner.js';
