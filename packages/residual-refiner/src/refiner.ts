/**
 * F_ref, the residual refine module (Eq. 6): its own query tokens Q_ref (initialised as a copy of Q_anc when
 * phase 2 starts, then trained) read the same context C through a trunk of its own; one read-out head gives
 * the arm residual ΔÂ and the gripper correction δ̂ (δ̂ shares F_ref's trunk, spec Eq. 8–11).
 *
 * F_ref does not read anchor features: with input 'implicit' (the method) the refinement pass needs only C,
 * so it can run concurrently with the anchor pass. 'explicit-anchor-concat' is the ablation in which the
 * anchor chunk, projected to width d, is added to the refine query of the same chunk step.
 *
 * With `vision` (an option beyond the paper) F_ref also owns a keypoint encoder of the raw camera images
 * (vision.ts), trained in phase 2: its tokens are appended to each slot's context tokens before F_ref's
 * trunk, so the refinement can use image detail the frozen context lost. The anchor never sees them.
 */
import type { Backbone, Context, QueryTrunk, ReadoutHead } from '@anchor-refine/backbones';
import { init, Linear, Module, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { RefinerVision, type RefinerVisionConfig } from './vision.js';

export type RefinerInput = 'implicit' | 'explicit-anchor-concat';

export interface ResidualRefinerOptions {
  horizon: number;
  armDim: number;
  /** Refine trunk depth ("lightweight" next to the anchor's). */
  depth: number;
  input?: RefinerInput;
  seed?: number;
  /** F_ref's own camera keypoints (vision.ts); absent = F_ref reads only C. */
  vision?: { cameras: readonly string[]; imageSize: number; config: RefinerVisionConfig };
}

export interface RefinerOutput {
  /** [B, L, H, D−1] arm residual ΔÂ (or the arm itself for the 'direct' ablation). */
  delta: tf.Tensor;
  /** [B, L, H] gripper probability correction δ̂. */
  gripperDelta: tf.Tensor;
}

export class ResidualRefiner extends Module {
  /** Q_ref [H, d] */
  readonly queries: tf.Variable;
  readonly trunk: QueryTrunk;
  readonly head: ReadoutHead;
  readonly anchor_proj: Linear | undefined;
  readonly vision: RefinerVision | undefined;
  readonly input: RefinerInput;

  constructor(
    backbone: Backbone,
    readonly options: ResidualRefinerOptions,
  ) {
    super();
    const { horizon, armDim, depth } = options;
    for (const [k, v] of Object.entries({ horizon, armDim, depth })) {
      if (!Number.isInteger(v) || v <= 0)
        throw new Error(`ResidualRefiner: ${k} must be a positive integer, got ${v}`);
    }
    this.input = options.input ?? 'implicit';
    if (this.input !== 'implicit' && this.input !== 'explicit-anchor-concat') {
      throw new Error(
        `ResidualRefiner: input must be 'implicit' or 'explicit-anchor-concat', got '${String(this.input)}'`,
      );
    }
    const seed = options.seed ?? 100;
    const rng = new Rng(seed);
    this.queries = this.registerParameter('queries', () =>
      init.normal([horizon, backbone.dim], rng, { std: 0.02 }),
    );
    this.trunk = this.registerModule('trunk', backbone.createTrunk({ depth, seed: seed + 1 }));
    // Zero output layers (choice): at the start of phase 2 the composed chunk equals the anchor exactly.
    this.head = this.registerModule(
      'head',
      backbone.createHead({ armDim, seed: seed + 2, zeroInitOutput: true }),
    );
    this.anchor_proj =
      this.input === 'explicit-anchor-concat'
        ? this.registerModule('anchor_proj', new Linear(armDim, backbone.dim, { rng }))
        : undefined;
    const v = options.vision;
    this.vision = v
      ? this.registerModule(
          'vision',
          new RefinerVision(v.cameras, v.imageSize, v.config, backbone.dim, new Rng(seed + 3)),
        )
      : undefined;
  }

  /** Q_ref ← Q_anc (the start of phase 2). */
  initQueriesFrom(anchorQueries: tf.Tensor): void {
    if (!tf.util.arraysEqual(anchorQueries.shape, this.queries.shape)) {
      throw new Error(
        `ResidualRefiner.initQueriesFrom: anchor queries [${anchorQueries.shape.join(', ')}] must match [${this.queries.shape.join(', ')}]`,
      );
    }
    tf.tidy(() => this.queries.assign(tf.clone(anchorQueries)));
  }

  /**
   * F_ref's trunk ← a copy of `anchorTrunk`'s weights (`refine.trunkInit: 'anchor'`), parameter by name; the
   * two must have the same structure (depth, width). The copy is independent: training F_ref leaves F_anc as it is.
   */
  initTrunkFrom(anchorTrunk: Module): void {
    const src = new Map(anchorTrunk.namedParameters());
    const dst = this.trunk.namedParameters();
    const missing = dst
      .filter(([n, v]) => !tf.util.arraysEqual(src.get(n)?.shape ?? [], v.shape))
      .map(([n]) => n);
    if (missing.length || src.size !== dst.length) {
      throw new Error(
        `ResidualRefiner.initTrunkFrom: the anchor trunk (${src.size} parameters) does not match F_ref's (${dst.length})${missing.length ? `: ${missing.slice(0, 3).join(', ')}` : ''}`,
      );
    }
    tf.tidy(() => {
      for (const [n, v] of dst) v.assign(tf.clone(src.get(n) as tf.Tensor));
    });
  }

  /**
   * C (and Â^anc [B, L, H, D−1] for 'explicit-anchor-concat' only; the observation images, camera →
   * [B, L, S, S, 3], with `vision` only) → ΔÂ, δ̂.
   */
  forward(context: Context, anchorArm?: tf.Tensor, images?: Record<string, tf.Tensor>): RefinerOutput {
    if (this.anchor_proj && !anchorArm) {
      throw new Error("ResidualRefiner: input 'explicit-anchor-concat' needs the anchor arm chunk");
    }
    if (this.vision && !images) throw new Error('ResidualRefiner: vision needs the observation images');
    return tf.tidy(() => {
      if (this.vision && images) {
        const own = this.vision.forward(images); // [B, L, V, d]
        context = { ...context, tokens: tf.concat([context.tokens, own], 2) }; // [B, L, N+V, d]
      }
      let q: tf.Tensor = this.queries; // [H, d]
      if (this.anchor_proj && anchorArm) q = tf.add(this.anchor_proj.forward(anchorArm), this.queries); // [B, L, H, d]
      const features = this.trunk.forward(context, q); // [B, L, H, d]
      const { arm, scalar } = this.head.forward(features);
      return { delta: arm, gripperDelta: scalar };
    });
  }
}
