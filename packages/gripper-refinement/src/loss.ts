import * as tf from '@tensorflow/tfjs';
import { decisionAwareTarget, naiveTarget } from './target.js';
import { assertBH, assertMargin, assertSameShape, checkLogitsLabels } from './validate.js';

/**
 * Gripper variants of the ablation table:
 * - `'decision-aware'` — full AnchorRefine, target Eq. 9;
 * - `'naive-mse'` — "naive gripper MSE", target `y − p`;
 * - `'none'` — "w/o gripper refinement": no loss, gripper = anchor decision `1[p ≥ 0.5]`.
 */
export type GripperVariant = 'decision-aware' | 'none' | 'naive-mse';

export interface GripperLossOptions {
  variant?: GripperVariant;
}

/**
 * Eq. 10 — `L_grip = mean (δ̂ − δ*)²` over all B·H elements (MSE, not BCE). The target is computed
 * behind a stop-gradient, so the gradient flows only into `deltaPred`
 * (∂L/∂δ̂ = 2(δ̂ − δ*)/N, ∂L/∂λ = 0). Variant `'none'` returns a constant scalar 0.
 * Returns a new scalar tensor.
 */
export function gripperLoss(
  deltaPred: tf.Tensor,
  anchorLogits: tf.Tensor,
  labels: tf.Tensor,
  margin = 0.1,
  { variant = 'decision-aware' }: GripperLossOptions = {},
): tf.Scalar {
  const fn = 'gripperLoss';
  assertBH(fn, 'deltaPred', deltaPred);
  checkLogitsLabels(fn, anchorLogits, labels);
  assertSameShape(fn, 'deltaPred', deltaPred, 'anchorLogits', anchorLogits);
  assertMargin(fn, margin);
  switch (variant) {
    case 'none':
      return tf.scalar(0);
    case 'decision-aware':
    case 'naive-mse':
      return tf.tidy(() => {
        const target =
          variant === 'naive-mse'
            ? naiveTarget(anchorLogits, labels)
            : decisionAwareTarget(anchorLogits, labels, margin);
        return tf.mean(tf.squaredDifference(deltaPred, target));
      });
    default:
      throw new Error(`${fn}: unknown variant '${String(variant)}' (decision-aware | naive-mse | none)`);
  }
}
