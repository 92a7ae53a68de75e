/**
 * The EE6D action space (research/xvla.md §2.2–2.4): per arm `[xyz (3), rot6d (6), gripper (1)]`, two arms
 * padded to 20 channels; rot6d = the first two rotation-matrix columns in one of two memory orders.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rot6dOrder, XvlaLossWeights } from './config.js';

export const EE6D_DIM = 20;
export const EE6D_POSITION = [0, 1, 2, 10, 11, 12] as const;
export const EE6D_ROTATION = [3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 18] as const;
export const EE6D_GRIPPER = [9, 19] as const;

/**
 * Index of rotation-matrix entry r_ij (row i, column j ∈ {0, 1}) inside the 6 channels:
 *   interleaved [r00, r01, r10, r11, r20, r21] → 2i + j;  contiguous [r00, r10, r20, r01, r11, r21] → 3j + i.
 */
function slot(order: Rot6dOrder, i: number, j: number): number {
  return order === 'interleaved' ? 2 * i + j : 3 * j + i;
}

/** rotation matrices [..., 3, 3] → rot6d [..., 6] (first two columns in `order`). */
export function matrixToRot6d(r: tf.Tensor, order: Rot6dOrder): tf.Tensor {
  return tf.tidy(() => {
    const lead = r.shape.slice(0, -2);
    const flat = tf.reshape(r, [-1, 9]); // [N, 9] row-major r_ij at 3i + j
    const idx = new Int32Array(6);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) idx[slot(order, i, j)] = 3 * i + j;
    return tf.reshape(tf.gather(flat, tf.tensor1d(idx, 'int32'), 1), [...lead, 6]); // [..., 6]
  });
}

/** rot6d [..., 6] → rotation matrices [..., 3, 3]: Gram-Schmidt on the two columns, third = c0 × c1. */
export function rot6dToMatrix(r6: tf.Tensor, order: Rot6dOrder): tf.Tensor {
  return tf.tidy(() => {
    const lead = r6.shape.slice(0, -1);
    const flat = tf.reshape(r6, [-1, 6]); // [N, 6]
    const col = (j: number) =>
      tf.gather(
        flat,
        tf.tensor1d(
          [0, 1, 2].map((i) => slot(order, i, j)),
          'int32',
        ),
        1,
      ); // [N, 3]
    const unit = (v: tf.Tensor) => tf.div(v, tf.maximum(tf.norm(v, 'euclidean', -1, true), 1e-8));
    const c0 = unit(col(0));
    const a1 = col(1);
    const c1 = unit(tf.sub(a1, tf.mul(tf.sum(tf.mul(c0, a1), -1, true), c0)));
    const [x0, y0, z0] = tf.split(c0, 3, -1);
    const [x1, y1, z1] = tf.split(c1, 3, -1);
    const c2 = tf.concat(
      [
        tf.sub(tf.mul(y0, z1), tf.mul(z0, y1)),
        tf.sub(tf.mul(z0, x1), tf.mul(x0, z1)),
        tf.sub(tf.mul(x0, y1), tf.mul(y0, x1)),
      ],
      -1,
    ); // [N, 3] = c0 × c1
    const m = tf.stack([c0, c1, c2], -1); // [N, 3 (row i), 3 (column j)]
    return tf.reshape(m, [...lead, 3, 3]);
  });
}

/** Swaps the rot6d memory order of both arms' rotation channels of EE6D vectors [..., 20]. */
export function convertRot6dOrder(x: tf.Tensor, from: Rot6dOrder, to: Rot6dOrder): tf.Tensor {
  if (from === to) return tf.clone(x);
  const perm = Array.from({ length: EE6D_DIM }, (_, c) => c);
  for (const base of [3, 13]) {
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) perm[base + slot(to, i, j)] = base + slot(from, i, j);
  }
  return tf.tidy(() => tf.gather(x, tf.tensor1d(perm, 'int32'), -1));
}

/** [20] float mask with 1 on the listed channels. */
function channelMask(channels: readonly number[]): tf.Tensor1D {
  const m = new Float32Array(EE6D_DIM);
  for (const c of channels) m[c] = 1;
  return tf.tensor1d(m);
}

/** Zeroes the gripper channels 9 and 19 of x [..., 20] (done to proprio and x_t at every step upstream). */
export function zeroGripper(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sub(1, channelMask(EE6D_GRIPPER))));
}

/** Output post-processing: sigmoid on the gripper channels, the rest as is. */
export function ee6dPostprocess(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const g = channelMask(EE6D_GRIPPER);
    return tf.add(tf.mul(x, tf.sub(1, g)), tf.mul(tf.sigmoid(x), g));
  });
}

export type Ee6dLoss = { loss: tf.Scalar; position: tf.Scalar; rotation: tf.Scalar; gripper: tf.Scalar };

/**
 * EE6D loss of a predicted clean chunk `pred` (gripper channels are logits) against `target` [B, H, 20]
 * (gripper in {0, 1}):
 *   position = (MSE arm₁ + MSE arm₂)·w_pos, rotation = (MSE arm₁ + MSE arm₂)·w_rot,
 *   gripper = mean BCE-with-logits over channels 9, 19 · w_grip; loss = their sum.
 * `mask` [B, H] (optional, 1 = valid step) restricts every mean to valid steps.
 */
export function ee6dLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weights: XvlaLossWeights,
  mask?: tf.Tensor,
): Ee6dLoss {
  if (pred.rank !== 3 || pred.shape[2] !== EE6D_DIM || !tf.util.arraysEqual(pred.shape, target.shape)) {
    throw new Error(
      `ee6dLoss: pred and target must both be [B, H, 20], got [${pred.shape}] and [${target.shape}]`,
    );
  }
  return tf.tidy(() => {
    const [b, h] = pred.shape;
    const m = mask ? tf.reshape(tf.cast(mask, 'float32'), [b, h, 1]) : tf.ones([b, h, 1]); // [B, H, 1]
    const steps = tf.maximum(tf.sum(m), 1);
    // mean over (valid steps × group channels of one arm), summed over the two arms = sum / (steps·per-arm)
    const group = (err: tf.Tensor, channels: readonly number[]) =>
      tf.div(tf.sum(tf.mul(tf.mul(err, m), channelMask(channels))), tf.mul(steps, channels.length / 2));
    const sq = tf.squaredDifference(pred, target);
    const position = tf.mul(group(sq, EE6D_POSITION), weights.position) as tf.Scalar;
    const rotation = tf.mul(group(sq, EE6D_ROTATION), weights.rotation) as tf.Scalar;
    // BCE with logits, stable: max(z, 0) − z·y + log(1 + e^{−|z|}); mean over both gripper channels
    const bce = tf.add(tf.sub(tf.relu(pred), tf.mul(pred, target)), tf.log1p(tf.exp(tf.neg(tf.abs(pred)))));
    const gripper = tf.mul(tf.div(group(bce, EE6D_GRIPPER), 2), weights.gripper) as tf.Scalar;
    const loss = tf.addN([position, rotation, gripper]) as tf.Scalar;
    return { loss, position, rotation, gripper };
  });
}
