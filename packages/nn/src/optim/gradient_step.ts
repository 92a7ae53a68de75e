/**
 * One optimisation step on a scalar loss: gradients of `vars`, re-keyed by parameter name, global-norm
 * clipping fused into the update (the clip coefficient goes to the optimizer: no scaled gradient copies),
 * the optimizer's update. The loss's value comes back as a number; every gradient is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { clipGradScale } from './clip.js';
import { gradsByParamName } from './grads.js';
import type { Optimizer } from './optimizer.js';

export interface GradientStepOptions {
  /** Max global gradient norm; null = no clipping. */
  clipNorm: number | null;
  /** Learning rate of this step (from a schedule); default the optimizer's. */
  lr?: number;
}

export interface GradientStepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export function gradientStep(
  loss: () => tf.Scalar,
  named: ReadonlyArray<readonly [string, tf.Variable]>,
  optimizer: Optimizer,
  { clipNorm, lr }: GradientStepOptions,
): GradientStepResult {
  const { value, grads } = tf.variableGrads(
    loss,
    named.map(([, v]) => v),
  );
  try {
    const byName = gradsByParamName(named, grads);
    const clip = clipGradScale(byName, clipNorm ?? Number.MAX_VALUE);
    optimizer.step(byName, lr, { gradScale: clip.scale });
    return { loss: value.dataSync()[0], gradNorm: clip.totalNorm };
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}
