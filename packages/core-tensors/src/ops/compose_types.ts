/** Public argument types of `composeResidual` and helpers that turn them into tensors. */
import * as tf from '@tensorflow/tfjs';

/** A per-arm-dimension vector: a [armDim] tensor or plain numbers. */
export type ArmVector = tf.Tensor1D | readonly number[] | Float32Array;

export interface ComposeInputs {
  /** [..., armDim] anchor arm chunk (normalized space). */
  anchor: tf.Tensor;
  /** [..., armDim] refiner residual ΔÂ; omitted = anchor only. */
  delta?: tf.Tensor;
  /** [...] anchor gripper logits λ. */
  gripLogit: tf.Tensor;
  /** [...] refiner gripper correction δ̂; omitted = 0. */
  gripDelta?: tf.Tensor;
}

export type Unnormalize =
  | { mode: 'mean_std'; mean: ArmVector; std: ArmVector }
  | { mode: 'quantile'; q01: ArmVector; q99: ArmVector };

export interface ComposeOptions {
  /** Map the arm back to raw action units: x * std + mean, or x * (q99 - q01) / 2 + (q99 + q01) / 2. */
  unnormalize?: Unnormalize;
  /** Clamp the (un-normalized) arm to [low, high] per dimension. */
  bounds?: { low: ArmVector; high: ArmVector };
}

/** A plain object type (not an interface) so it can be returned from tf.tidy. */
export type ComposeOutputs = {
  /** [..., armDim] float32. */
  arm: tf.Tensor;
  /** [...] float32 composed gripper probability clip(sigmoid(λ) + δ̂, 0, 1). */
  prob: tf.Tensor;
  /** [...] bool, prob > 0.5 (1 = closed). */
  closed: tf.Tensor;
};

export function toArmVector(v: ArmVector): tf.Tensor1D {
  if (v instanceof tf.Tensor) return tf.cast(v, 'float32') as tf.Tensor1D;
  return tf.tensor1d(Array.from(v), 'float32');
}

/** The affine map of `unnormalize` as [armDim] scale and shift tensors (call inside a tidy). */
export function affineOf(u: Unnormalize): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  if (u.mode === 'mean_std') return { scale: toArmVector(u.std), shift: toArmVector(u.mean) };
  const q01 = toArmVector(u.q01);
  const q99 = toArmVector(u.q99);
  return { scale: tf.div(tf.sub(q99, q01), 2), shift: tf.div(tf.add(q99, q01), 2) };
}
