/**
 * AnchorRefine on X-VLA (spec Eq. 2–12 with the flow backbone):
 *
 *   anchor  F_anc = the X-VLA denoiser (`model.*`, upstream names under LeRobot's `model.` prefix). Phase 1
 *           trains it on its own flow objective. Â^anc / λ^anc = the frozen denoiser run to the end with
 *           `anchor.steps` passes from ONE fixed-seed noise draw (deterministic), arm channels / gripper logit.
 *   refiner F_ref = a shallow regression transformer over the same context (the VL features the frozen
 *           encoder produced): its action tokens are `[0 | proprio | temb(0)]` through an action_encoder that
 *           `beginRefinePhase` copies from the anchor's (so its tokens start as the anchor's action-token
 *           embedding), with the anchor's positions, prompts, context projections and first blocks copied
 *           too; a near-zero decoder makes it start at ΔÂ ≈ 0. Its arm channels are ΔÂ, its gripper channel δ̂.
 *           It never reads the anchor's output, so both passes can run concurrently (spec "Inference").
 *
 * The public API mirrors AnchorRefinePolicy (setPhase, beginRefinePhase, forward, toTensors,
 * predictActionChunk, selectAction, reset) over the same PolicyBatch (history 1: X-VLA reads one frame).
 */
import {
  EE6D_DIM,
  type FlowGuide,
  SoftPromptedTransformer,
  type Tokenizer,
  type VlFeatures,
  type XvlaConditioning,
  type XvlaInputs,
  XvlaModel,
} from '@anchor-refine/backbones';
import { noGrad, stopGradient } from '@anchor-refine/core-tensors';
import { gripperLoss } from '@anchor-refine/gripper-refinement';
import { Rng } from '@anchor-refine/nn';
import { refineLoss } from '@anchor-refine/residual-refiner';
import * as tf from '@tensorflow/tfjs';
import { PolicyBase } from '../base.js';
import {
  type BatchTensors,
  batchToTensors,
  disposeBatchTensors,
  imagesToFloat,
  type PolicyBatch,
} from '../batch.js';
import { composeChunk } from '../chunk.js';
import { errorMetrics, prefixed } from '../metrics.js';
import type { ActionChunk, ForwardResult, Phase, PolicyObservation, PolicyOptions } from '../policy.js';
import {
  applyGuide,
  type ChunkGuide,
  DEFAULT_MAX_GUIDANCE_WEIGHT,
  softPrefixMask,
  validateGuide,
} from '../rtc.js';
import { affine, type PolicyStats } from '../stats.js';
import { validateXvlaPolicyConfig, type XvlaPolicyConfig } from './config.js';

/** Near-zero refiner decoder: ΔÂ ≈ 0 and δ̂ ≈ 0 at the start of phase 2 (the refiner starts at the anchor). */
const REFINER_DECODER_STD = 1e-3;

/** Model-space tensors of one batch. */
type XvlaBatch = {
  inputs: XvlaInputs;
  /** [B, H, 20] EE6D target (gripper label in its channel) */
  actions: tf.Tensor;
  /** [B, H, D−1] arm target (normalized) */
  arm: tf.Tensor;
  /** [B, H] gripper labels */
  gripper: tf.Tensor;
  /** [B, H] 1 = valid step */
  mask: tf.Tensor;
};

export type XvlaAnchorOutput = {
  /** [B, H, D−1] Â^anc (normalized units) */
  arm: tf.Tensor;
  /** [B, H] λ^anc */
  gripperLogits: tf.Tensor;
  /** [B, H, d] the action tokens of the last denoising pass */
  actionTokens: tf.Tensor;
};

export type XvlaRefineOutput = {
  /** [B, H, D−1] ΔÂ */
  delta: tf.Tensor;
  /** [B, H] δ̂ */
  gripperDelta: tf.Tensor;
};

export class XvlaAnchorRefinePolicy extends PolicyBase {
  readonly model: XvlaModel;
  readonly refiner: SoftPromptedTransformer | undefined;
  readonly cameras: readonly string[];
  private readonly trainRng: Rng;

  constructor(
    readonly config: XvlaPolicyConfig,
    stats?: PolicyStats,
    opts: PolicyOptions = {},
  ) {
    validateXvlaPolicyConfig(config);
    const bb = config.backbone.config;
    // X-VLA conditions on the current frame only: history 1.
    super(
      bb.horizon,
      config.layout.armChannels.length,
      config.layout.stateChannels.length,
      1,
      config.execution,
      stats,
    );
    this.cameras = [...bb.cameras];
    this.model = this.registerModule(
      'model',
      new XvlaModel(bb, { seed: config.seed, tokenizer: opts.tokenizer }),
    );
    this.refiner = config.refine.enabled
      ? this.registerModule(
          'refiner',
          new SoftPromptedTransformer(bb, new Rng(config.seed + 2000), {
            depth: config.refine.depth,
            decoderStd: REFINER_DECODER_STD,
          }),
        )
      : undefined;
    this.trainRng = new Rng(config.seed + 3000);
  }

  /** The instruction tokenizer (the byte tokenizer, or the BART one passed for the Florence-2 encoder). */
  get tokenizer(): Tokenizer | undefined {
    return this.model.tokenizer;
  }

  /** Phase 'anchor': the denoiser (and a non-frozen VL encoder); 'refine': the refiner only. */
  setPhase(phase: Phase): tf.Variable[] {
    this.freeze();
    if (phase === 'anchor') {
      const frozen = new Set(this.model.config.vl.frozen ? this.model.vlm.parameters() : []);
      for (const v of this.model.parameters()) if (!frozen.has(v)) v.trainable = true;
    } else {
      if (!this.refiner)
        throw new Error("XvlaAnchorRefinePolicy: phase 'refine' needs refine.enabled = true");
      this.refiner.unfreeze();
    }
    return this.trainableParameters();
  }

  /**
   * Q_ref ← Q_anc for the flow backbone: copies the anchor's action_encoder (the action-token embedding),
   * positions, soft prompts, context projections and its first `refine.depth` blocks into the refiner.
   */
  beginRefinePhase(): void {
    if (!this.refiner)
      throw new Error('XvlaAnchorRefinePolicy.beginRefinePhase: refinement is disabled in the config');
    const src = this.model.transformer.stateDict();
    const copy = new Map<string, tf.Tensor>();
    for (const [name] of this.refiner.stateDict()) {
      if (name.startsWith('action_decoder.') || name.startsWith('norm.')) continue; // the refiner's own read-out
      const t = src.get(name);
      if (t) copy.set(name, t);
    }
    this.refiner.loadStateDict(copy, { strict: false });
  }

  toTensors(batch: PolicyBatch): BatchTensors {
    return batchToTensors(
      batch,
      {
        cameras: this.cameras,
        history: 1,
        horizon: this.horizon,
        stateDim: this.stateDim,
        armDim: this.armDim,
      },
      (texts) => this.model.tokenize(texts),
    );
  }

  /** Training / validation loss of `phase` (the caller disposes everything returned). */
  forward(batch: PolicyBatch | BatchTensors, phase: Phase): ForwardResult {
    const own = !('obs' in batch);
    const t = own ? this.toTensors(batch as PolicyBatch) : (batch as BatchTensors);
    try {
      return tf.tidy(() => {
        const x = this.modelBatch(t);
        return phase === 'anchor' ? this.anchorObjective(x) : this.refineObjective(x);
      });
    } finally {
      if (own) disposeBatchTensors(t);
    }
  }

  /**
   * The frozen denoiser run to the end: fixed steps from ONE noise draw x1 [H, 20] (seed `anchor.noiseSeed`)
   * shared by every sample, so Â^anc is a function of the observation alone — the same at inference
   * (batch 1) as at any position of a training batch. (Per-position draws would train the refiner on the
   * average correction over noise draws while inference always uses one of them.)
   * With `guide` the sampler is RTC's guided inpainting (`guided-flow.ts`).
   */
  anchorChunk(inputs: XvlaInputs, feats?: VlFeatures, guide?: FlowGuide): XvlaAnchorOutput {
    return tf.tidy(() => {
      const b = inputs.proprio.shape[0] ?? 1;
      const noise = tf.tensor3d(new Rng(this.config.anchor.noiseSeed).fillNormal(this.horizon * EE6D_DIM), [
        1,
        this.horizon,
        EE6D_DIM,
      ]);
      const x1 = tf.tile(noise, [b, 1, 1]); // [1, H, 20] → [B, H, 20]
      const f = feats ?? this.model.vlm.encode(inputs.images, inputs.viewMask, inputs.ids);
      const cond = this.model.transformer.condition(f.vlm, f.aux, inputs.domain);
      const s = this.model.sample(inputs, x1, this.config.anchor.steps, cond, guide);
      const raw = stopGradient(s.raw); // [B, H, 20]; frozen in phase 2, and sg of Eq. 5 regardless
      return {
        arm: this.fromModel(raw),
        gripperLogits: this.channel(raw, this.config.layout.gripperChannel),
        actionTokens: stopGradient(s.actionTokens),
      };
    });
  }

  /** The refiner's tokens [B, H, d]: [0 | proprio | temb(0)] through its action_encoder, plus positions. */
  refinerTokens(inputs: XvlaInputs): tf.Tensor {
    const r = this.requireRefiner();
    return tf.tidy(() => {
      const b = inputs.proprio.shape[0] ?? 1;
      return r.actionTokens(
        tf.zeros([b, this.horizon, EE6D_DIM]),
        zeroGrip(inputs.proprio),
        tf.zeros([b]),
        inputs.domain,
      );
    });
  }

  /** F_ref over the context: ΔÂ [B, H, D−1] and δ̂ [B, H]. */
  refine(inputs: XvlaInputs, feats?: VlFeatures): XvlaRefineOutput {
    const r = this.requireRefiner();
    return tf.tidy(() => {
      const f = feats ?? this.model.vlm.encode(inputs.images, inputs.viewMask, inputs.ids);
      const cond: XvlaConditioning = r.condition(f.vlm, f.aux, inputs.domain);
      const out = r.run(this.refinerTokens(inputs), cond, inputs.domain); // [B, H, 20]
      return {
        delta: this.fromModel(out),
        gripperDelta: this.channel(out, this.config.layout.gripperChannel),
      };
    });
  }

  private requireRefiner(): SoftPromptedTransformer {
    if (!this.refiner) throw new Error('XvlaAnchorRefinePolicy: refinement is disabled in the config');
    return this.refiner;
  }

  private anchorObjective(x: XvlaBatch): ForwardResult {
    const b = x.actions.shape[0] ?? 1;
    const noise = tf.tensor3d(this.trainRng.fillNormal(b * this.horizon * EE6D_DIM), [
      b,
      this.horizon,
      EE6D_DIM,
    ]);
    const l = this.model.loss(x.inputs, x.actions, noise, this.trainRng.uniform(), x.mask);
    return {
      loss: l.loss,
      metrics: { loss: l.loss, position_loss: l.position, rotation_loss: l.rotation, gripper_bce: l.gripper },
    };
  }

  private refineObjective(x: XvlaBatch): ForwardResult {
    const r = this.config.refine;
    // The VL encoder and the denoiser are frozen in phase 2: run them untaped (constants of L_2).
    const feats = noGrad(() => this.model.vlm.encode(x.inputs.images, x.inputs.viewMask, x.inputs.ids));
    const a = noGrad(() => this.anchorChunk(x.inputs, feats));
    const f = this.refine(x.inputs, feats);
    const lRef = refineLoss(f.delta, x.arm, a.arm, { mask: x.mask });
    const lGrip = gripperLoss(f.gripperDelta, a.gripperLogits, x.gripper, r.margin, {
      variant: r.gripper,
      mask: x.mask,
    });
    const loss = tf.add(lRef, tf.mul(r.lambdaGrip, lGrip)) as tf.Scalar;
    const gd = r.gripper === 'none' ? undefined : f.gripperDelta;
    return {
      loss,
      metrics: {
        loss,
        refine_loss: lRef,
        gripper_loss: lGrip,
        ...errorMetrics(tf.add(a.arm, f.delta), a.gripperLogits, gd, x),
        ...prefixed('anchor_', errorMetrics(a.arm, a.gripperLogits, undefined, x)),
      },
    };
  }

  /** [B, H, 20] → the arm channels of the layout [B, H, D−1]. */
  private fromModel(x: tf.Tensor): tf.Tensor {
    return tf.gather(x, tf.tensor1d(this.config.layout.armChannels, 'int32'), 2);
  }

  /** [B, H, 20] → channel c [B, H]. */
  private channel(x: tf.Tensor, c: number): tf.Tensor {
    const [b, h] = x.shape;
    return tf.reshape(tf.slice(x, [0, 0, c], [b, h, 1]), [b, h]);
  }

  /** [N, k] values → [N, 20] with column i placed at channels[i] (other channels 0). */
  private scatter(x: tf.Tensor2D, channels: readonly number[]): tf.Tensor2D {
    const sel = new Float32Array(channels.length * EE6D_DIM);
    channels.forEach((c, i) => {
      sel[i * EE6D_DIM + c] = 1;
    });
    return tf.matMul(x, tf.tensor2d(sel, [channels.length, EE6D_DIM])); // [N, k]·[k, 20]
  }

  /** BatchTensors (history 1) → model inputs and EE6D targets. */
  private modelBatch(t: BatchTensors): XvlaBatch {
    const { layout } = this.config;
    const [b, , h, d] = t.arm.shape; // [B, 1, H, D−1]
    const imgs = this.cameras.map((c) => t.obs.images[c]); // each [B, 1, S, S, 3]
    const images = tf.concat(imgs, 1); // [B, V, S, S, 3]
    const state = tf.reshape(t.obs.state, [b, this.stateDim]) as tf.Tensor2D; // [B, 1, S] → [B, S]
    const arm = tf.reshape(t.arm, [b, h, d]); // [B, H, D−1]
    const gripper = tf.reshape(t.gripper, [b, h]); // [B, H]
    const armEe = tf.reshape(this.scatter(tf.reshape(arm, [b * h, d]) as tf.Tensor2D, layout.armChannels), [
      b,
      h,
      EE6D_DIM,
    ]);
    const gripEe = tf.mul(
      tf.expandDims(gripper, 2),
      tf.oneHot(tf.tensor1d([layout.gripperChannel], 'int32'), EE6D_DIM),
    ); // [B, H, 20]
    return {
      inputs: {
        images,
        viewMask: tf.ones([b, this.cameras.length], 'bool'),
        ids: t.obs.language,
        proprio: this.scatter(state, layout.stateChannels),
        domain: tf.fill([b], this.config.domainId, 'int32'),
      },
      actions: tf.add(armEe, gripEe),
      arm,
      gripper,
      mask: tf.reshape(t.mask, [b, h]),
    };
  }

  /**
   * The RTC guide in model space: Y^anc [1, H, 20] = normalize(plan) − ΔÂ on the arm channels (so the
   * composition Â^anc + ΔÂ approaches the plan) and W [1, H, 20] = the soft mask on those channels.
   */
  private flowGuide(guide: ChunkGuide, delta: tf.Tensor | undefined): FlowGuide {
    const p = validateGuide(guide, this.horizon, this.armDim);
    const h = this.horizon;
    const d = this.armDim;
    const { shift, scale } = affine(this.stats.action, this.stats.mode, d, 'action');
    const plan = new Float32Array(h * d);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < d; j++) plan[i * d + j] = (guide.arm[i * d + j] - shift[j]) / scale[j];
    const w = softPrefixMask(h, p, guide.delay);
    const rowW = new Float32Array(h * d);
    for (let i = 0; i < h; i++) rowW.fill(w[i], i * d, (i + 1) * d);
    const ch = this.config.layout.armChannels;
    const anchorTarget = delta ? tf.sub(tf.tensor2d(plan, [h, d]), delta) : tf.tensor2d(plan, [h, d]);
    return {
      target: tf.reshape(this.scatter(anchorTarget as tf.Tensor2D, ch), [1, h, EE6D_DIM]),
      weights: tf.reshape(this.scatter(tf.tensor2d(rowW, [h, d]), ch), [1, h, EE6D_DIM]),
      maxWeight: guide.maxGuidanceWeight ?? DEFAULT_MAX_GUIDANCE_WEIGHT,
    };
  }

  /**
   * One chunk from the current observation (a history's last element). With `guide` (RTC) the anchor is
   * inpainted towards the still-executing plan, the refinement composes on it, and the plan's first
   * `guide.delay` steps are the chunk's first steps exactly (`rtc.ts`).
   */
  predictActionChunk(
    observations: PolicyObservation | readonly PolicyObservation[],
    guide?: ChunkGuide,
  ): ActionChunk {
    const list = Array.isArray(observations) ? observations : [observations];
    const obs = list[list.length - 1] as PolicyObservation | undefined;
    if (!obs) throw new Error('predictActionChunk: needs at least one observation');
    if (guide) validateGuide(guide, this.horizon, this.armDim);
    const wasTraining = this.training;
    this.eval();
    try {
      const parts = tf.tidy(() => {
        const inputs = this.observationInputs(obs);
        const feats = this.model.vlm.encode(inputs.images, inputs.viewMask, inputs.ids);
        const h = this.horizon;
        const d = this.armDim;
        // The refiner does not read the anchor, so it runs first and its ΔÂ shapes the anchor's target.
        const f = this.refiner ? this.refine(inputs, feats) : undefined;
        const fg = guide ? this.flowGuide(guide, f && tf.reshape(f.delta, [h, d])) : undefined;
        const a = this.anchorChunk(inputs, feats, fg);
        return {
          anchorArm: tf.reshape(a.arm, [h, d]),
          gripperLogits: tf.reshape(a.gripperLogits, [h]),
          ...(f ? { delta: tf.reshape(f.delta, [h, d]), gripperDelta: tf.reshape(f.gripperDelta, [h]) } : {}),
        };
      });
      try {
        const c = composeChunk(
          { ...parts, refineGripper: this.config.refine.gripper !== 'none' },
          this.stats,
        );
        return guide ? applyGuide(c, guide, { blendArm: false }) : c;
      } finally {
        tf.dispose(Object.values(parts));
      }
    } finally {
      this.train(wasTraining);
    }
  }

  /** Raw observation → normalized model inputs [1, …] (call inside a tidy). */
  private observationInputs(o: PolicyObservation): XvlaInputs {
    const cfg = this.model.config.vl;
    const px = cfg.imageSize;
    const s = this.stateDim;
    if (o.state.length !== s)
      throw new Error(`PolicyObservation.state: expected ${s} values, got ${o.state.length}`);
    const { shift, scale } = affine(this.stats.state, this.stats.mode, s, 'state');
    const state = Float32Array.from({ length: s }, (_, i) => (o.state[i] - shift[i]) / scale[i]);
    const images = new Float32Array(this.cameras.length * px * px * 3);
    this.cameras.forEach((cam, v) => {
      const img = o.images[cam];
      if (!img) throw new Error(`PolicyObservation.images: missing camera '${cam}'`);
      if (img.height !== px || img.width !== px || img.data.length !== px * px * 3) {
        throw new Error(
          `PolicyObservation.images.${cam}: expected ${px}×${px}×3 uint8, got ${img.height}×${img.width}`,
        );
      }
      images.set(imagesToFloat(img.data), v * px * px * 3);
    });
    return {
      images: tf.tensor(images, [1, this.cameras.length, px, px, 3]),
      viewMask: tf.ones([1, this.cameras.length], 'bool'),
      ids: this.model.tokenize([o.task]),
      proprio: this.scatter(tf.tensor2d(state, [1, s]), this.config.layout.stateChannels),
      domain: tf.tensor1d([this.config.domainId], 'int32'),
    };
  }
}

function zeroGrip(p: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(p, tf.sub(1, tf.oneHot(tf.tensor1d([9, 19], 'int32'), EE6D_DIM).sum(0))));
}
