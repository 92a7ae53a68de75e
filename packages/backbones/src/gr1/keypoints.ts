/**
 * Spatial-softmax keypoints over a ViT's patch grid (the robomimic / Diffusion Policy image read-out,
 * applied to patch tokens instead of conv features): K learned score maps, a softmax over the P patches
 * of each, and the expected (x, y) patch-centre coordinate under it,
 *
 *   a_k = softmax_p(w_kᵀ z_p + b_k),   kp_k = Σ_p a_k,p · (x_p, y_p) ∈ [−1, 1]²
 *
 * so the trunk gets object positions as numbers rather than having to decode them from pooled features.
 * Off by default (GR-1 has no such token); `vision.keypoints: K` turns it on.
 */
import { Linear, Module, type Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';

/** Patch-centre coordinates of a g×g grid, row-major like the patch tokens: [g·g, 2] as (x, y) ∈ (−1, 1). */
export function patchGrid(g: number): Float32Array {
  const out = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      out[(r * g + c) * 2] = (2 * (c + 0.5)) / g - 1;
      out[(r * g + c) * 2 + 1] = (2 * (r + 0.5)) / g - 1;
    }
  }
  return out;
}

export class SpatialSoftmax extends Module {
  readonly to_logits: Linear;
  private readonly grid: Float32Array;

  constructor(
    visionDim: number,
    readonly keypoints: number,
    readonly gridSize: number,
    rng: Rng,
  ) {
    super();
    this.to_logits = this.registerModule('to_logits', new Linear(visionDim, keypoints, { rng }));
    this.grid = patchGrid(gridSize);
  }

  /** patches [N, P, dv] (P = g², row-major) → keypoints [N, 2K] as (x_0, y_0, x_1, y_1, …). */
  forward(patches: tf.Tensor): tf.Tensor2D {
    const [n, p] = patches.shape;
    const g = this.gridSize;
    if (patches.rank !== 3 || p !== g * g) {
      throw new Error(`SpatialSoftmax: patches must be [N, ${g * g}, dv], got [${patches.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const logits = this.to_logits.forward(patches); // [N, P, K]
      const attn = tf.softmax(tf.transpose(logits, [0, 2, 1])); // [N, K, P], softmax over patches
      const grid = tf.tensor2d(this.grid, [p, 2]); // [P, 2]
      const kp = tf.matMul(tf.reshape(attn, [n * this.keypoints, p]), grid); // [N·K, 2]
      return tf.reshape(kp, [n, 2 * this.keypoints]) as tf.Tensor2D; // [N, 2K]
    });
  }
}
