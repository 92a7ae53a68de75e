/**
 * L_anc (Eq. 4): `L_rec(Â^anc, A^arm) + β · BCE(σ(λ^anc), y)`, averaged over valid chunk steps.
 */
import { withoutGradient } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';

/** GR-1 trains its arm with Smooth-L1; MSE is the other regression choice. */
export type Reconstruction = 'smooth_l1' | 'mse';

export interface AnchorLossOptions {
  /** Gripper BCE weight β. Default 1: arm targets are normalized to unit scale, so both terms are O(1). */
  beta?: number;
  reconstruction?: Reconstruction;
  /** Smooth-L1 transition point (PyTorch's `beta`, default 1). */
  smoothL1Beta?: number;
  /** [..., H] 1 = valid step (mask of the targets); every element of the arm's step shares it. */
  mask?: tf.Tensor;
}

export type AnchorLoss = {
  loss: tf.Scalar;
  arm: tf.Scalar;
  gripper: tf.Scalar;
};

function checkShapes(
  arm: tf.Tensor,
  armTarget: tf.Tensor,
  logits: tf.Tensor,
  labels: tf.Tensor,
  mask?: tf.Tensor,
) {
  const s = (t: tf.Tensor) => `[${t.shape.join(', ')}]`;
  if (arm.rank < 2 || !tf.util.arraysEqual(arm.shape, armTarget.shape)) {
    throw new Error(
      `anchorLoss: armPred ${s(arm)} and armTarget ${s(armTarget)} must have the same shape [..., H, D−1]`,
    );
  }
  const lead = arm.shape.slice(0, -1);
  if (!tf.util.arraysEqual(logits.shape, lead) || !tf.util.arraysEqual(labels.shape, lead)) {
    throw new Error(
      `anchorLoss: gripperLogits ${s(logits)} and gripperLabels ${s(labels)} must be [${lead.join(', ')}] (the arm's leading dims)`,
    );
  }
  if (mask && !tf.util.arraysEqual(mask.shape, lead)) {
    throw new Error(`anchorLoss: mask ${s(mask)} must be [${lead.join(', ')}]`);
  }
}

/** Elementwise Smooth-L1 (Huber with PyTorch's beta): ½x²/β for |x| < β, |x| − ½β otherwise. */
export function smoothL1(diff: tf.Tensor, beta = 1): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(diff);
    const small = withoutGradient(a, (x) => tf.less(x, beta)); // the branch choice carries no gradient
    return tf.where(small, tf.div(tf.mul(0.5, tf.square(diff)), beta), tf.sub(a, 0.5 * beta));
  });
}

/** Numerically stable BCE with logits, elementwise: max(x,0) − x·y + log(1 + e^{−|x|}). */
export function bceWithLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.cast(labels, 'float32');
    return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
  });
}

/**
 * Eq. 4. armPred/armTarget [..., H, D−1]; gripperLogits/gripperLabels [..., H] (labels in {0,1}, 1 = closed).
 * The arm term is the mean over valid steps × D−1 channels, the gripper term the mean over valid steps.
 */
export function anchorLoss(
  armPred: tf.Tensor,
  armTarget: tf.Tensor,
  gripperLogits: tf.Tensor,
  gripperLabels: tf.Tensor,
  { beta = 1, reconstruction = 'smooth_l1', smoothL1Beta = 1, mask }: AnchorLossOptions = {},
): AnchorLoss {
  checkShapes(armPred, armTarget, gripperLogits, gripperLabels, mask);
  if (!(beta >= 0)) throw new Error(`anchorLoss: beta must be ≥ 0, got ${beta}`);
  if (reconstruction !== 'smooth_l1' && reconstruction !== 'mse') {
    throw new Error(
      `anchorLoss: reconstruction must be 'smooth_l1' or 'mse', got '${String(reconstruction)}'`,
    );
  }
  return tf.tidy(() => {
    const diff = tf.sub(armPred, armTarget);
    const per = reconstruction === 'mse' ? tf.square(diff) : smoothL1(diff, smoothL1Beta); // [..., H, D−1]
    const bce = bceWithLogits(gripperLogits, gripperLabels); // [..., H]
    const armDim = armPred.shape[armPred.rank - 1] ?? 1;
    let arm: tf.Scalar;
    let gripper: tf.Scalar;
    if (mask) {
      const m = tf.cast(mask, 'float32');
      const steps = tf.maximum(tf.sum(m), 1);
      arm = tf.div(tf.sum(tf.mul(per, tf.expandDims(m, -1))), tf.mul(steps, armDim));
      gripper = tf.div(tf.sum(tf.mul(bce, m)), steps);
    } else {
      arm = tf.mean(per);
      gripper = tf.mean(bce);
    }
    return { loss: tf.add(arm, tf.mul(beta, gripper)) as tf.Scalar, arm, gripper };
  });
}
