/**
 * One predicted chunk's composition (Eq. 2 and Eq. 11) and read-back, shared by both policies: the
 * composed arm Â = Â^anc + ΔÂ in raw units, the gripper decision from λ^anc + δ̂, and the anchor alone
 * (the anchor-only baseline reads it from the same call).
 */
import { composeResidual } from '@anchor-refine/core-tensors';
import { composeGripper } from '@anchor-refine/gripper-refinement';
import * as tf from '@tensorflow/tfjs';
import type { ChunkPrediction } from './queue.js';
import { affine, type PolicyStats } from './stats.js';

/** Everything `predictActionChunk` produces, row-major [H, D−1] for arm-shaped fields. */
export interface ActionChunk extends ChunkPrediction {
  /** composed arm in raw units (Eq. 2, un-normalized) */
  arm: Float32Array;
  /** composed close decision (Eq. 11), 1 = closed */
  gripper: Uint8Array;
  /** composed close probability clip(p + δ̂, 0, 1) */
  gripperProb: Float32Array;
  /** the anchor arm in raw units */
  anchorArm: Float32Array;
  /** the anchor's close probability σ(λ) */
  anchorGripperProb: Float32Array;
  /** the refiner's residual ΔÂ in normalized units (zeros when refinement is off) */
  delta: Float32Array;
  /** the refiner's gripper correction δ̂ (zeros when off) */
  gripperDelta: Float32Array;
}

/** The heads' outputs for one chunk (normalized units; the caller keeps ownership). */
export interface ChunkParts {
  /** [H, D−1] Â^anc */
  anchorArm: tf.Tensor;
  /** [H] λ^anc */
  gripperLogits: tf.Tensor;
  /** [H, D−1] ΔÂ; absent without a refiner */
  delta?: tf.Tensor;
  /** [H] δ̂; absent without a refiner */
  gripperDelta?: tf.Tensor;
  /** ablation 'direct': the refiner's output is the action itself, not a residual */
  directTarget?: boolean;
  /** apply δ̂ (false for the 'none' gripper variant) */
  refineGripper: boolean;
}

/** The inverse of the action normalization as composeResidual takes it. */
export function actionUnnormalizer(stats: PolicyStats, armDim: number) {
  const { shift, scale } = affine(stats.action, stats.mode, armDim, 'action');
  return { mode: 'mean_std' as const, mean: shift, std: scale };
}

export function composeChunk(p: ChunkParts, stats: PolicyStats): ActionChunk {
  const [h, d] = p.anchorArm.shape as [number, number];
  const out = tf.tidy(() => {
    const unnormalize = actionUnnormalizer(stats, d);
    const refined = p.delta !== undefined;
    const delta = p.delta ?? tf.zeros([h, d]);
    const gd = p.gripperDelta ?? tf.zeros([h]);
    const composed = composeResidual(
      p.directTarget && refined
        ? { anchor: delta, gripLogit: p.gripperLogits }
        : { anchor: p.anchorArm, delta: p.delta, gripLogit: p.gripperLogits },
      { unnormalize },
    );
    const grip = composeGripper(
      tf.reshape(p.gripperLogits, [1, h]),
      refined && p.refineGripper ? tf.reshape(gd, [1, h]) : undefined,
    ); // [1, H]
    const anchorRaw = composeResidual({ anchor: p.anchorArm, gripLogit: p.gripperLogits }, { unnormalize });
    return [composed.arm, grip.closed, grip.prob, anchorRaw.arm, tf.sigmoid(p.gripperLogits), delta, gd];
  });
  const [arm, closed, prob, anchorArm, anchorProb, delta, gd] = out.map((x) => x.dataSync());
  tf.dispose(out);
  return {
    arm: arm as Float32Array,
    gripper: Uint8Array.from(closed),
    gripperProb: prob as Float32Array,
    anchorArm: anchorArm as Float32Array,
    anchorGripperProb: anchorProb as Float32Array,
    delta: delta as Float32Array,
    gripperDelta: gd as Float32Array,
    horizon: h,
    armDim: d,
  };
}
