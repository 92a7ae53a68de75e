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
  /** `[B, H]`, 1 = valid step, 0 = padding: only valid steps are averaged (a batch with none gives 0). */
  mask?: tf.Tensor;
}

/**
 * Eq. 10 — `L_grip = mean (δ̂ − δ*)²` over all B·H elements, or the valid ones of `mask` (MSE, not BCE). The target is computed
 * behind a stop-gradient, so the gradient flows only into `deltaPred`
 * (∂L/∂δ̂ = 2(δ̂ − δ*)/N, ∂L/∂λ = 0). Variant `'none'` returns a constant scalar 0.
 * Returns a new scalar tensor.
 */
export function gripperLoss(
  deltaPred: tf.Tensor,
  anchorLogits: tf.Tensor,
  labels: tf.Tensor,
  margin = 0.1,
  { variant = 'decision-aware', mask }: GripperLossOptions = {},
): tf.Scalar {
  const fn = 'gripperLoss';
  assertBH(fn, 'deltaPred', deltaPred);
  checkLogitsLabels(fn, anchorLogits, labels);
  assertSameShape(fn, 'deltaPred', deltaPred, 'anchorLogits', anchorLogits);
  assertMargin(fn, margin);
  if (mask !== undefined) assertSameShape(fn, 'mask', mask, 'deltaPred', deltaPred);
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
        const sq = tf.squaredDifference(deltaPred, target);
        if (mask === undefined) return tf.mean(sq);
        const m = tf.cast(mask, 'float32');
        return tf.div(tf.sum(tf.mul(sq, m)), tf.maximum(tf.sum(m), 1));
      });
    default:
      throw new Error(`${fn}: unknown variant '${String(variant)}' (decision-aware | naive-mse | none)`);
  }
}
