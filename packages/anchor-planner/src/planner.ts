/**
 * F_anc, the trajectory anchor planner (Eq. 3): learnable anchor query tokens Q_anc ∈ R^{H×d} read the
 * shared context C through the backbone's trunk; a read-out head gives the anchor arm chunk Â^anc and the
 * gripper logits λ^anc for every history slot.
 */
import type { Backbone, Context, QueryTrunk, ReadoutHead } from '@anchor-refine/backbones';
import { init, Module, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';

export interface AnchorPlannerOptions {
  /** Chunk length H. */
  horizon: number;
  /** Arm action channels D−1. */
  armDim: number;
  /** Trunk depth (GR-1: 12; the "phase 1 only, deeper anchor" ablation: 18). */
  depth: number;
  seed?: number;
}

export interface AnchorOutput {
  /** [B, L, H, D−1] anchor arm chunk Â^anc (normalized space). */
  arm: tf.Tensor;
  /** [B, L, H] gripper logits λ^anc. */
  gripperLogits: tf.Tensor;
}

export class AnchorPlanner extends Module {
  /** Q_anc [H, d] */
  readonly queries: tf.Variable;
  readonly trunk: QueryTrunk;
  readonly head: ReadoutHead;

  constructor(
    backbone: Backbone,
    readonly options: AnchorPlannerOptions,
  ) {
    super();
    const { horizon, armDim, depth } = options;
    for (const [k, v] of Object.entries({ horizon, armDim, depth })) {
      if (!Number.isInteger(v) || v <= 0)
        throw new Error(`AnchorPlanner: ${k} must be a positive integer, got ${v}`);
    }
    const seed = options.seed ?? 0;
    const rng = new Rng(seed);
    // GPT-2 scale, like GR-1's action_queries Embedding after its init.
    this.queries = this.registerParameter('queries', () =>
      init.normal([horizon, backbone.dim], rng, { std: 0.02 }),
    );
    this.trunk = this.registerModule('trunk', backbone.createTrunk({ depth, seed: seed + 1 }));
    this.head = this.registerModule('head', backbone.createHead({ armDim, seed: seed + 2 }));
  }

  /** C → Â^anc [B, L, H, D−1], λ^anc [B, L, H] */
  forward(context: Context): AnchorOutput {
    return tf.tidy(() => {
      const features = this.trunk.forward(context, this.queries); // [B, L, H, d]
      const { arm, scalar } = this.head.forward(features);
      return { arm, gripperLogits: scalar };
    });
  }

  /**
   * forward() with extra read-out queries E [E, d] after Q_anc (e.g. GR-1's [OBS] tokens). No token attends
   * to a query token, so Â^anc and λ^anc are forward()'s; `extra` holds the E read-outs [B, L, E, d].
   */
  forwardWith(context: Context, extra: tf.Tensor): AnchorOutput & { extra: tf.Tensor } {
    const h = this.options.horizon;
    return tf.tidy(() => {
      const features = this.trunk.forward(context, tf.concat([this.queries, extra], 0)); // [B, L, H+E, d]
      const [b, l, t, d] = features.shape;
      const { arm, scalar } = this.head.forward(tf.slice(features, [0, 0, 0, 0], [b, l, h, d])); // [B, L, H, d]
      return { arm, gripperLogits: scalar, extra: tf.slice(features, [0, 0, h, 0], [b, l, t - h, d]) };
    });
  }
}
