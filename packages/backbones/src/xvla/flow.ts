/**
 * Flow matching as released (research/xvla.md §2.1): t = 1 is pure noise, x_t = t·ε + (1−t)·A, the network
 * predicts the clean chunk (x0); inference re-noises its own estimate with ONE noise draw for t = 1, …, 1/steps.
 * The paper's velocity form (v = ε − A under the same path, Euler steps) is the `velocity` switch.
 */
import { sinusoidalEmbedding } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { FlowObjective } from './config.js';

/** X-VLA time embedding: t [B] (unscaled, in [0, 1]) → [B, dim] = [cos(t·f) | sin(t·f)], f_k = 100^(−k/(dim/2)). */
export function timeEmbedding(t: tf.Tensor, dim: number): tf.Tensor2D {
  return sinusoidalEmbedding(t, dim, { cosFirst: true, maxPeriod: 100 });
}

/** Stratified-uniform times for a batch of B: t_b = (u + b/B) mod (1 − 1e-5), one u ∈ [0, 1) per batch. */
export function stratifiedTimes(batch: number, u: number): Float32Array {
  const out = new Float32Array(batch);
  const top = 1 - 1e-5; // keeps t < 1 so x_t always holds some of A
  for (let b = 0; b < batch; b++) out[b] = (u + b / batch) % top;
  return out;
}

/** x_t = t·ε + (1 − t)·A with t [B] broadcast over [B, H, D]. */
export function noisyActions(actions: tf.Tensor, noise: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const tt = tf.reshape(t, [t.shape[0] ?? 1, 1, 1]); // [B, 1, 1]
    return tf.add(tf.mul(tt, noise), tf.mul(tf.sub(1, tt), actions));
  });
}

/** The regression target of the objective: A (x0) or dx_t/dt = ε − A (velocity). */
export function flowTarget(objective: FlowObjective, actions: tf.Tensor, noise: tf.Tensor): tf.Tensor {
  return objective === 'x0' ? tf.clone(actions) : tf.sub(noise, actions);
}

/** One network evaluation: x_t [B, H, D], t [B] → prediction (x0 or velocity) [B, H, D]. */
export type Denoiser = (xt: tf.Tensor, t: tf.Tensor) => tf.Tensor;

/**
 * Runs the sampler to the end from the noise draw x1 [B, H, D] and returns the final clean-chunk estimate.
 *   x0:       Â = 0; for i = steps…1: t = i/steps, x_t = t·x1 + (1−t)·Â, Â = f(x_t, t)
 *   velocity: x = x1; for i = steps…1: t = i/steps, x ← x − (1/steps)·f(x, t); Â = x
 * `onStep` sees every intermediate estimate (x0) or state (velocity).
 */
export function sampleChunk(
  objective: FlowObjective,
  f: Denoiser,
  x1: tf.Tensor,
  steps: number,
  onStep?: (i: number, estimate: tf.Tensor) => void,
): tf.Tensor {
  if (!Number.isInteger(steps) || steps <= 0)
    throw new Error(`sampleChunk: steps must be a positive integer, got ${steps}`);
  const b = x1.shape[0] ?? 1;
  let est = objective === 'x0' ? tf.zerosLike(x1) : tf.clone(x1);
  for (let i = steps; i >= 1; i--) {
    const next = tf.tidy(() => {
      const t = tf.fill([b], i / steps);
      if (objective === 'x0') return f(noisyActions(est, x1, t), t);
      return tf.sub(est, tf.mul(f(est, t), 1 / steps));
    });
    est.dispose();
    est = next;
    onStep?.(i, est);
  }
  return est;
}
