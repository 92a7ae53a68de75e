/**
 * AnchorRefinePolicy: a backbone builds the shared context C (Eq. 1); the anchor planner F_anc turns it into
 * a coarse chunk and gripper logits (Eq. 3); the residual refiner F_ref turns the same C into a residual and
 * a gripper correction (Eq. 6); composition gives the action (Eq. 2, 11).
 *
 *   phase 'anchor'  trains backbone + F_anc on L_anc (Eq. 4)
 *   phase 'refine'  freezes them and trains F_ref on L_2 = L_ref + λ_g·L_grip (Eq. 5, 7, 10, 12)
 *
 * Batches carry a chunk for every history slot (GR-1's dense supervision); inference reads the last real slot.
 */
import { AnchorPlanner, anchorLoss } from '@anchor-refine/anchor-planner';
import {
  type Backbone,
  Gr1Backbone,
  type Tokenizer,
  VideoPredictor,
  videoLoss,
} from '@anchor-refine/backbones';
import { noGrad, stopGradient } from '@anchor-refine/core-tensors';
import { gripperLoss } from '@anchor-refine/gripper-refinement';
import { type Module, Rng } from '@anchor-refine/nn';
import { ResidualRefiner, refineLoss } from '@anchor-refine/residual-refiner';
import * as tf from '@tensorflow/tfjs';
import { PolicyBase, type PolicyObservation } from './base.js';
import {
  type BatchTensors,
  batchToTensors,
  disposeBatchTensors,
  imagesToFloat,
  type PolicyBatch,
} from './batch.js';
import { type ActionChunk, composeChunk } from './chunk.js';
import { type PolicyConfig, validatePolicyConfig } from './config.js';
import { errorMetrics, type ForwardMetrics, prefixed } from './metrics.js';
import { applyGuide, type ChunkGuide, validateGuide } from './rtc.js';
import { affine, type PolicyStats } from './stats.js';

export type Phase = 'anchor' | 'refine';

export type { ActionChunk, ForwardMetrics, PolicyObservation };

/** Construction options a config cannot hold. */
export interface PolicyOptions {
  /**
   * Instruction tokenizer for backbones whose vocabulary is not bundled (GR-1 `text.tokenizer: 'clip'`,
   * X-VLA's Florence-2 encoder): e.g. `loadHfTokenizer(dir, …)` from @anchor-refine/backbones.
   */
  tokenizer?: Tokenizer;
}

/** A plain object type (not an interface) so tf.tidy can return it. */
export type ForwardResult = {
  loss: tf.Scalar;
  metrics: ForwardMetrics;
};

export class AnchorRefinePolicy extends PolicyBase {
  readonly backbone: Backbone & Gr1Backbone;
  readonly anchor: AnchorPlanner;
  readonly refiner: ResidualRefiner | undefined;
  /** GR-1's future-frame predictor (phase 1 only; `config.video`). */
  readonly video: VideoPredictor | undefined;

  constructor(
    readonly config: PolicyConfig,
    stats?: PolicyStats,
    opts: PolicyOptions = {},
  ) {
    validatePolicyConfig(config);
    const bb = config.backbone.config;
    super(bb.horizon, bb.armDim, bb.stateDim, bb.history, config.execution, stats);
    this.backbone = this.registerModule(
      'backbone',
      new Gr1Backbone(bb, { seed: config.seed, tokenizer: opts.tokenizer }),
    );
    this.anchor = this.registerModule(
      'anchor',
      new AnchorPlanner(this.backbone, {
        horizon: bb.horizon,
        armDim: bb.armDim,
        depth: config.anchor.depth,
        seed: config.seed + 1000,
      }),
    );
    const r = config.refine;
    this.refiner = r.enabled
      ? this.registerModule(
          'refiner',
          new ResidualRefiner(this.backbone, {
            horizon: bb.horizon,
            armDim: bb.armDim,
            depth: r.depth,
            input: r.input,
            seed: config.seed + 2000,
            ...(r.vision
              ? {
                  vision: {
                    cameras: this.backbone.cameras,
                    imageSize: config.backbone.config.vision.imageSize,
                    config: r.vision,
                  },
                }
              : {}),
          }),
        )
      : undefined;
    this.video = config.video
      ? this.registerModule(
          'video',
          new VideoPredictor(
            config.video,
            {
              cameras: bb.cameras.length,
              trunkDim: bb.dim,
              imageSize: bb.vision.imageSize,
              patchSize: bb.vision.patchSize,
            },
            new Rng(config.seed + 3000),
          ),
        )
      : undefined;
  }

  /** The instruction tokenizer (the byte tokenizer, or the one passed for `text.tokenizer: 'clip'`). */
  get tokenizer(): Tokenizer | undefined {
    return this.backbone.tokenizer;
  }

  /**
   * Marks the variables of `phase` trainable and every other one frozen; returns the trainable list
   * (what an optimizer gets). Pretrained encoders the backbone freezes stay frozen.
   */
  setPhase(phase: Phase): tf.Variable[] {
    this.freeze();
    const frozen = new Set(this.backbone.frozenByDefault());
    const open = (m: Module) => {
      for (const v of m.parameters()) if (!frozen.has(v)) v.trainable = true;
    };
    if (phase === 'anchor') {
      open(this.backbone);
      open(this.anchor);
      if (this.video) open(this.video);
    } else {
      if (!this.refiner) throw new Error("AnchorRefinePolicy: phase 'refine' needs refine.enabled = true");
      open(this.refiner);
      // "w/o detached anchor": the anchor (and the context it reads) keeps training through L_ref.
      if (!this.config.refine.detachAnchor) {
        open(this.backbone);
        open(this.anchor);
      }
    }
    return this.trainableParameters();
  }

  /** Q_ref ← Q_anc (and F_ref's trunk ← F_anc's with `refine.trunkInit: 'anchor'`): call once when phase 2 starts from a phase-1 model. */
  beginRefinePhase(): void {
    if (!this.refiner)
      throw new Error('AnchorRefinePolicy.beginRefinePhase: refinement is disabled in the config');
    this.refiner.initQueriesFrom(this.anchor.queries);
    if (this.config.refine.trunkInit === 'anchor') this.refiner.initTrunkFrom(this.anchor.trunk);
  }

  /** Training/validation loss of `phase` with scalar metrics (the caller disposes everything returned). */
  forward(batch: PolicyBatch | BatchTensors, phase: Phase): ForwardResult {
    const own = !('obs' in batch);
    const t = own ? this.toTensors(batch as PolicyBatch) : (batch as BatchTensors);
    try {
      return tf.tidy(() => {
        if (phase === 'anchor') return this.anchorObjective(this.backbone.encode(t.obs), t);
        // Phase 2 with the detached anchor: the backbone and anchor are frozen constants of L_2, so they
        // run untaped (no tape entries, no saved activations) — about 44 % fewer kernels per step.
        const frozen = this.config.refine.detachAnchor;
        const ctx = frozen ? noGrad(() => this.backbone.encode(t.obs)) : this.backbone.encode(t.obs);
        return this.refineObjective(ctx, t);
      });
    } finally {
      if (own) disposeBatchTensors(t);
    }
  }

  toTensors(batch: PolicyBatch): BatchTensors {
    const { cameras, history } = this.backbone;
    return batchToTensors(
      batch,
      { cameras, history, horizon: this.horizon, stateDim: this.stateDim, armDim: this.armDim },
      (texts) => this.backbone.tokenize(texts),
    );
  }

  private anchorObjective(ctx: ReturnType<Backbone['encode']>, t: BatchTensors): ForwardResult {
    // The video objective needs the batch's future frames; a batch without them trains on L_anc alone.
    const video = this.video;
    const future = video ? t.future : undefined;
    const withVideo = video && future ? this.anchor.forwardWith(ctx, video.queries) : undefined;
    const a = withVideo ?? this.anchor.forward(ctx);
    const {
      loss: lAnc,
      arm,
      gripper,
    } = anchorLoss(a.arm, t.arm, a.gripperLogits, t.gripper, {
      beta: this.config.anchor.beta,
      reconstruction: this.config.anchor.reconstruction,
      mask: t.mask,
    });
    let loss = lAnc;
    let lVideo: tf.Scalar | undefined;
    if (video && future && withVideo) {
      const px = this.config.backbone.config.vision.imageSize;
      const [b, l] = t.obs.historyMask.shape;
      const targets = this.backbone.cameras.map((cam) => {
        const y = video.targets(tf.reshape(future[cam], [b * l, px, px, 3])); // [B, L, S, S, 3] → [B·L, S, S, 3] → [B·L, P, K]
        return tf.reshape(y, [b, l, 1, video.patches, video.pixelsPerPatch]); // [B, L, 1, P, K]
      });
      lVideo = videoLoss(video.forward(withVideo.extra), tf.concat(targets, 2), t.obs.historyMask); // targets [B, L, V, P, K]
      loss = tf.add(lAnc, tf.mul(video.config.weight, lVideo)) as tf.Scalar;
    }
    return {
      loss,
      metrics: {
        loss,
        arm_loss: arm,
        gripper_bce: gripper,
        ...(lVideo ? { video_loss: lVideo } : {}),
        ...errorMetrics(a.arm, a.gripperLogits, undefined, t),
      },
    };
  }

  private refineObjective(ctx: ReturnType<Backbone['encode']>, t: BatchTensors): ForwardResult {
    const refiner = this.refiner;
    if (!refiner) throw new Error("AnchorRefinePolicy: phase 'refine' needs refine.enabled = true");
    const r = this.config.refine;
    const a = r.detachAnchor ? noGrad(() => this.anchor.forward(ctx)) : this.anchor.forward(ctx);
    const anchorIn = r.input === 'explicit-anchor-concat' ? stopGradient(a.arm) : undefined;
    const f = refiner.forward(ctx, anchorIn, t.obs.images);
    // Flatten slots into the batch: [B, L, H, ·] → [B·L, H, ·] for the per-chunk losses.
    const [b, l, h, dArm] = a.arm.shape;
    const flat3 = (x: tf.Tensor) => tf.reshape(x, [b * l, h, dArm]);
    const flat2 = (x: tf.Tensor) => tf.reshape(x, [b * l, h]);
    const mask = flat2(t.mask);
    const lRef = refineLoss(flat3(f.delta), flat3(t.arm), flat3(a.arm), {
      target: r.target,
      mask,
      detachAnchor: r.detachAnchor,
      padding: r.padding === 'zero' ? 'zero' : 'ignore',
    });
    const lGrip = gripperLoss(flat2(f.gripperDelta), flat2(a.gripperLogits), flat2(t.gripper), r.margin, {
      variant: r.gripper,
      mask,
    });
    const loss = tf.add(lRef, tf.mul(r.lambdaGrip, lGrip)) as tf.Scalar;
    const composed = r.target === 'direct' ? f.delta : tf.add(a.arm, f.delta);
    const gd = r.gripper === 'none' ? undefined : f.gripperDelta;
    return {
      loss,
      metrics: {
        loss,
        refine_loss: lRef,
        gripper_loss: lGrip,
        ...errorMetrics(composed, a.gripperLogits, gd, t),
        ...prefixed('anchor_', errorMetrics(a.arm, a.gripperLogits, undefined, t)),
      },
    };
  }

  /**
   * One chunk from an observation history (oldest first; the last element is the current step; at most
   * L are used). The anchor and refinement passes read only the context, never each other (except the
   * 'explicit-anchor-concat' ablation).
   */
  predictActionChunk(
    observations: PolicyObservation | readonly PolicyObservation[],
    guide?: ChunkGuide,
  ): ActionChunk {
    const hist = (Array.isArray(observations) ? observations : [observations]).slice(-this.backbone.history);
    if (hist.length === 0) throw new Error('predictActionChunk: needs at least one observation');
    if (guide) validateGuide(guide, this.horizon, this.armDim);
    const wasTraining = this.training;
    this.eval();
    try {
      const obs = this.observationTensors(hist);
      const parts = tf.tidy(() => {
        const ctx = this.backbone.encode(obs, { reuseEncodings: true }); // a control loop: frames recur
        const a = this.anchor.forward(ctx);
        const r = this.config.refine;
        const f = this.refiner?.forward(
          ctx,
          r.input === 'explicit-anchor-concat' ? a.arm : undefined,
          obs.images,
        );
        const slot = hist.length - 1;
        const h = this.horizon;
        const d = this.armDim;
        // [1, L, H, …] → the current slot's [H, …]
        const pick = (x: tf.Tensor, dims: number[]) =>
          tf.reshape(tf.slice(x, [0, slot, 0, 0].slice(0, x.rank), [1, 1, ...dims]), dims);
        return {
          anchorArm: pick(a.arm, [h, d]),
          gripperLogits: pick(a.gripperLogits, [h]),
          ...(f ? { delta: pick(f.delta, [h, d]), gripperDelta: pick(f.gripperDelta, [h]) } : {}),
        };
      });
      tf.dispose([...Object.values(obs.images), obs.state, obs.gripperState, obs.language, obs.historyMask]);
      try {
        const r = this.config.refine;
        const c = composeChunk(
          { ...parts, directTarget: r.target === 'direct', refineGripper: r.gripper !== 'none' },
          this.stats,
        );
        // Regression: one pass, nothing to guide — RTC is the soft overlap blend of `rtc.ts`.
        return guide ? applyGuide(c, guide, { blendArm: true }) : c;
      } finally {
        tf.dispose(Object.values(parts));
      }
    } finally {
      this.train(wasTraining);
    }
  }

  /** Raw observations → normalized, left-aligned [1, L, …] tensors. */
  private observationTensors(hist: readonly PolicyObservation[]) {
    const l = this.backbone.history;
    const s = this.stateDim;
    const px = this.config.backbone.config.vision.imageSize;
    const { shift, scale } = affine(this.stats.state, this.stats.mode, s, 'state');
    const state = new Float32Array(l * s);
    const grip = new Float32Array(l);
    const mask = new Uint8Array(l);
    const images: Record<string, Float32Array> = {};
    for (const cam of this.backbone.cameras) images[cam] = new Float32Array(l * px * px * 3);
    hist.forEach((o, j) => {
      if (o.state.length !== s)
        throw new Error(`PolicyObservation.state: expected ${s} values, got ${o.state.length}`);
      for (let i = 0; i < s; i++) state[j * s + i] = (o.state[i] - shift[i]) / scale[i];
      grip[j] = o.gripperState >= 0.5 ? 1 : 0;
      mask[j] = 1;
      for (const cam of this.backbone.cameras) {
        const img = o.images[cam];
        if (!img) throw new Error(`PolicyObservation.images: missing camera '${cam}'`);
        if (img.height !== px || img.width !== px || img.data.length !== px * px * 3) {
          throw new Error(
            `PolicyObservation.images.${cam}: expected ${px}×${px}×3 uint8, got ${img.height}×${img.width} (${img.data.length} bytes)`,
          );
        }
        images[cam].set(imagesToFloat(img.data), j * px * px * 3);
      }
    });
    const task = hist[hist.length - 1].task;
    return {
      images: Object.fromEntries(
        Object.entries(images).map(([cam, data]) => [cam, tf.tensor(data, [1, l, px, px, 3], 'float32')]),
      ),
      state: tf.tensor3d(state, [1, l, s]),
      gripperState: tf.tensor2d(grip, [1, l]),
      language: this.backbone.tokenize([task]),
      historyMask: tf.tensor2d(mask, [1, l], 'bool'),
    };
  }
}
