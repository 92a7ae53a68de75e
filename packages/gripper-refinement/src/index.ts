// @anchor-refine/gripper-refinement — decision-aware gripper refinement (AnchorRefine Eq. 8–11).

export { type ComposedGripper, composeGripper } from './compose.js';
export { type GripperLossOptions, type GripperVariant, gripperLoss } from './loss.js';
export { gripperCorrectionTarget, gripperDirection } from './target.js';
