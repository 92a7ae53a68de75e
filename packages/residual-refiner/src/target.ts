import { stopGradient } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { assertSameShape } from './validate.js';

export interface ResidualTargetOptions {
  /**
   * Apply sg to the anchor (default true, Eq. 5). `false` is the "w/o detached anchor" ablation: the
   * gradient of the refinement loss then reaches the anchor.
   */
  detach?: boolean;
}

/**
 * Eq. 5 — residual target `R = A^arm − sg(Â^anc)`. Shapes must match (normally `[B, H, D−1]`, in
 * normalized action space). With the default `detach: true` the gradient w.r.t. `anchorArm` is exactly
 * zero (a zero-gradient `tf.customGrad`), while the gradient w.r.t. `armTarget` is untouched.
 * Returns a new tensor.
 */
export function residualTarget(
  armTarget: tf.Tensor,
  anchorArm: tf.Tensor,
  { detach = true }: ResidualTargetOptions = {},
): tf.Tensor {
  assertSameShape('residualTarget', 'anchorArm', anchorArm, 'armTarget', armTarget);
  return tf.tidy(() => tf.sub(armTarget, detach ? stopGradient(anchorArm) : anchorArm));
}
