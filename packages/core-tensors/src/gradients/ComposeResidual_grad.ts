/**
 * Gradient of ComposeResidual: the ComposeResidualGrad kernel runs eagerly (see FusedAttention_grad.ts)
 * for anchor, delta, gripLogit and gripDelta; the thunks for the per-dimension vectors (scale, shift,
 * low, high — rarely trained) compute their gradients with tf ops, with the native kernel's
 * convention: sub-gradients at the clamp kinks are 0 (y exactly on a bound passes nothing); low <= high.
 */

import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { ComposeResidual, type ComposeResidualAttrs, ComposeResidualGrad } from '../kernel_names.js';

export const composeResidualGradConfig: GradConfig = {
  kernelName: ComposeResidual,
  inputsToSave: ['anchor', 'delta', 'gripLogit', 'gripDelta', 'scale', 'shift', 'low', 'high'],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [dArm, dProb] = dys as tf.Tensor[];
    const [anchor, delta, gripLogit, gripDelta, scale, shift, low, high] = saved;
    const a = attrs as ComposeResidualAttrs;
    const [dArmIn, dLogit, dGripDelta] = tf
      .engine()
      .runKernel(
        ComposeResidualGrad,
        { anchor, delta, gripLogit, gripDelta, scale, shift, low, high, dArm, dProb },
        a,
      ) as tf.Tensor[];
    const rowAxes = anchor.shape.slice(0, -1).map((_, i) => i); // every axis but the last (armDim)
    const sumRows = (t: tf.Tensor) => (rowAxes.length > 0 ? tf.sum(t, rowAxes) : t); // [..., Da] -> [Da]
    const pre = () => (a.hasDelta ? tf.add(anchor, delta) : anchor); // [..., Da]
    const affine = () => (a.hasAffine ? tf.add(tf.mul(pre(), scale), shift) : pre());
    // dArm restricted to where the clamp passed its input through (low < y < high, strict)
    const passed = () => {
      if (!a.hasBounds) return dArm;
      const y = affine();
      return tf.where(tf.logicalAnd(tf.greater(y, low), tf.less(y, high)), dArm, tf.zerosLike(dArm));
    };
    const clampedTo = (side: 'low' | 'high') => {
      const y = affine();
      const hit = side === 'low' ? tf.less(y, low) : tf.greater(y, high);
      return sumRows(tf.where(hit, dArm, tf.zerosLike(dArm)));
    };
    return {
      anchor: () => dArmIn,
      delta: () => (a.hasDelta ? tf.clone(dArmIn) : tf.zeros(delta.shape)),
      gripLogit: () => dLogit,
      gripDelta: () => (a.hasGripDelta ? dGripDelta : tf.zeros(gripDelta.shape)),
      scale: () => (a.hasAffine ? sumRows(tf.mul(passed(), pre())) : tf.zeros(scale.shape)),
      shift: () => (a.hasAffine ? tf.clone(sumRows(passed())) : tf.zeros(shift.shape)),
      low: () => (a.hasBounds ? clampedTo('low') : tf.zeros(low.shape)),
      high: () => (a.hasBounds ? clampedTo('high') : tf.zeros(high.shape)),
    };
  },
};
