import { withoutGradient } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { assertMargin, checkLogitsLabels } from './validate.js';

/** Eq. 8 on already-validated inputs; `p` = σ(λ), `y` float32 labels. */
function direction(p: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const open = tf.cast(tf.less(p, 0.5), 'float32'); // anchor says open (p < 0.5)
  const closed = tf.sub(1, open); // anchor says closed (p ≥ 0.5)
  return tf.sub(tf.mul(y, open), tf.mul(tf.sub(1, y), closed));
}

/**
 * Eq. 8 — correction direction `d = 1[y=1]·1[p<0.5] − 1[y=0]·1[p≥0.5]` ∈ {−1, 0, +1}, with
 * `p = σ(anchorLogits)`. `p = 0.5` counts as closed. Returns a new float32 `[B, H]` tensor.
 */
export function gripperDirection(anchorLogits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  checkLogitsLabels('gripperDirection', anchorLogits, labels);
  return tf.tidy(() => direction(tf.sigmoid(anchorLogits), tf.cast(labels, 'float32')));
}

/**
 * Eq. 9 — boundary-aware target `δ* = d·(|p − 0.5| + m)`. Applying it to `p` lands exactly `m` past
 * the 0.5 boundary on the label's side; steps the anchor already gets right get 0.
 *
 * It is a target: it is computed as one zero-gradient `tf.customGrad` op (`sg(δ*(λ))`), so no gradient
 * flows back to `anchorLogits` (`tf.grads` gives exact zeros) even when this is called inside a tape.
 */
export function gripperCorrectionTarget(anchorLogits: tf.Tensor, labels: tf.Tensor, margin = 0.1): tf.Tensor {
  checkLogitsLabels('gripperCorrectionTarget', anchorLogits, labels);
  assertMargin('gripperCorrectionTarget', margin);
  return decisionAwareTarget(anchorLogits, labels, margin);
}

/** Eq. 9 without validation (callers validate). */
export function decisionAwareTarget(anchorLogits: tf.Tensor, labels: tf.Tensor, margin: number): tf.Tensor {
  return withoutGradient(anchorLogits, (logits) =>
    tf.tidy(() => {
      const p = tf.sigmoid(logits);
      const d = direction(p, tf.cast(labels, 'float32'));
      return tf.mul(d, tf.add(tf.abs(tf.sub(p, 0.5)), margin));
    }),
  );
}

/** Ablation "naive gripper MSE": the plain residual `δ* = y − sg(p)` (no direction, no margin). */
export function naiveTarget(anchorLogits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  return withoutGradient(anchorLogits, (logits) =>
    tf.tidy(() => tf.sub(tf.cast(labels, 'float32'), tf.sigmoid(logits))),
  );
}
