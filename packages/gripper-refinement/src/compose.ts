import * as tf from '@tensorflow/tfjs';
import { assertBH, assertSameShape } from './validate.js';

export interface ComposedGripper {
  /** clip(σ(λ) + δ̂, 0, 1), float32 [B, H] (σ(λ) when there is no correction). */
  prob: tf.Tensor;
  /** bool [B, H]: true = close. */
  closed: tf.Tensor;
}

/**
 * Eq. 11 — `ĝ = 1[σ(λ) + δ̂ > 0.5]` and the composed probability `clip(σ(λ) + δ̂, 0, 1)`. δ̂ > 0 pushes
 * toward closing. The decision uses the unclipped sum (clipping never moves it across 0.5).
 *
 * With `deltaPred` undefined this is the `'none'` variant ("w/o gripper refinement"): `prob = σ(λ)`,
 * `closed = σ(λ) ≥ 0.5`, the anchor decision exactly as the ablation table defines it. Note the
 * boundary: with a correction, a sum of exactly 0.5 is open (`>`); without one, `p = 0.5` is closed
 * (`≥`, as in Eq. 8). The caller owns (and disposes) both returned tensors.
 */
export function composeGripper(anchorLogits: tf.Tensor, deltaPred?: tf.Tensor): ComposedGripper {
  assertBH('composeGripper', 'anchorLogits', anchorLogits);
  if (deltaPred !== undefined) {
    assertSameShape('composeGripper', 'deltaPred', deltaPred, 'anchorLogits', anchorLogits);
  }
  return tf.tidy(() => {
    const p = tf.sigmoid(anchorLogits);
    if (deltaPred === undefined) {
      return { prob: p, closed: tf.greaterEqual(p, 0.5) };
    }
    const sum = tf.add(p, deltaPred);
    return { prob: tf.clipByValue(sum, 0, 1), closed: tf.greater(sum, 0.5) };
  });
}
