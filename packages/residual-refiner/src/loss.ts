import * as tf from '@tensorflow/tfjs';
import { residualTarget } from './target.js';
import { assertBHD, assertMask, assertSameShape } from './validate.js';

/** `'residual'`: regress R (Eq. 7). `'direct'`: the "refine (direct action)" ablation, regress A^arm. */
export type RefineTarget = 'residual' | 'direct';

export interface RefineLossOptions {
  target?: RefineTarget;
  /** `[B, H]`, 1 = valid step, 0 = padding. Only valid steps are averaged. */
  mask?: tf.Tensor;
  /** sg on the anchor in the residual target (default true); `false` = "w/o detached anchor" ablation. */
  detachAnchor?: boolean;
  /**
   * Padded steps (mask 0, past the episode's end): `'ignore'` (default) leaves ΔÂ there unconstrained;
   * `'zero'` regresses it to 0 there (residual target only), so where no demo says otherwise the refined
   * chunk is the anchor's. Needs a mask.
   */
  padding?: 'ignore' | 'zero';
}

/**
 * Eq. 7 — `L_ref = mean ||ΔÂ − R||²` with `R = A^arm − sg(Â^anc)` (Eq. 5), averaged over every element
 * of `[B, H, D]`. With `target: 'direct'`, `L = mean ||ΔÂ − A^arm||²` and `anchorArm` is ignored (may be
 * undefined). With a mask, the sum of squared errors over valid steps is divided by
 * `(#valid steps)·D`; a batch with no valid step gives 0. Returns a new scalar tensor.
 */
export function refineLoss(
  deltaPred: tf.Tensor,
  armTarget: tf.Tensor,
  anchorArm: tf.Tensor | undefined,
  { target = 'residual', mask, detachAnchor = true, padding = 'ignore' }: RefineLossOptions = {},
): tf.Scalar {
  const fn = 'refineLoss';
  assertBHD(fn, 'deltaPred', deltaPred);
  assertSameShape(fn, 'armTarget', armTarget, 'deltaPred', deltaPred);
  if (target !== 'residual' && target !== 'direct') {
    throw new Error(`${fn}: unknown target '${String(target)}' (residual | direct)`);
  }
  if (anchorArm !== undefined) assertSameShape(fn, 'anchorArm', anchorArm, 'deltaPred', deltaPred);
  else if (target === 'residual') throw new Error(`${fn}: anchorArm is required for target 'residual'`);
  if (mask !== undefined) assertMask(fn, mask, 'deltaPred', deltaPred);
  if (padding !== 'ignore' && padding !== 'zero')
    throw new Error(`${fn}: unknown padding '${String(padding)}' (ignore | zero)`);
  if (padding === 'zero' && (mask === undefined || target !== 'residual'))
    throw new Error(`${fn}: padding 'zero' needs a mask and target 'residual'`);

  return tf.tidy(() => {
    const goal =
      target === 'residual' && anchorArm !== undefined
        ? residualTarget(armTarget, anchorArm, { detach: detachAnchor })
        : armTarget;
    const sq = tf.squaredDifference(deltaPred, goal);
    if (mask === undefined) return tf.mean(sq);
    const m = tf.cast(mask, 'float32');
    if (padding === 'zero') {
      // valid steps: (ΔÂ − R)²; padded steps: ΔÂ²; averaged over every element of [B, H, D]
      const m3 = tf.expandDims(m, 2);
      return tf.mean(tf.add(tf.mul(sq, m3), tf.mul(tf.square(deltaPred), tf.sub(1, m3))));
    }
    const sum = tf.sum(tf.mul(sq, tf.expandDims(m, 2)));
    const count = tf.maximum(tf.mul(tf.sum(m), deltaPred.shape[2] ?? 1), 1);
    return tf.div(sum, count);
  });
}
