/** Training / validation diagnostics shared by both policies (no gradient flows through them). */
import { stopGradient } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';

export type ForwardMetrics = Record<string, tf.Scalar>;

/** Targets of a batch: arm [..., H, D−1], gripper labels [..., H], valid-step mask [..., H]. */
export interface MetricTargets {
  arm: tf.Tensor;
  gripper: tf.Tensor;
  mask: tf.Tensor;
}

/**
 * Arm MSE and gripper decision error rate over valid steps. The decision is 1[σ(λ) ≥ 0.5] for the anchor
 * alone, 1[σ(λ) + δ̂ > 0.5] with the refiner's correction (Eq. 11).
 */
export function errorMetrics(
  arm: tf.Tensor,
  logits: tf.Tensor,
  gripDelta: tf.Tensor | undefined,
  t: MetricTargets,
): ForwardMetrics {
  const steps = tf.maximum(tf.sum(t.mask), 1);
  const armMse = tf.div(tf.sum(tf.mul(tf.mean(tf.square(tf.sub(arm, t.arm)), -1), t.mask)), steps);
  const p = tf.sigmoid(logits);
  const closed = gripDelta ? tf.greater(tf.add(p, gripDelta), 0.5) : tf.greaterEqual(p, 0.5);
  const wrong = tf.cast(tf.notEqual(tf.cast(closed, 'float32'), t.gripper), 'float32');
  const gripErr = tf.div(tf.sum(tf.mul(wrong, t.mask)), steps);
  return { arm_mse: stopGradient(armMse) as tf.Scalar, gripper_error: stopGradient(gripErr) as tf.Scalar };
}

/** The same metrics under `prefix` (e.g. 'anchor_' for the anchor alone in phase 2). */
export function prefixed(prefix: string, m: ForwardMetrics): ForwardMetrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [prefix + k, v]));
}
