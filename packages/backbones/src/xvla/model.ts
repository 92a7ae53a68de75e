/**
 * X-VLA: a vision-language encoder (`vlm.*`) and the soft-prompted transformer (`transformer.*`), with the
 * released flow objective (research/xvla.md §2) and EE6D pre/post-processing. Top-level names match the
 * upstream checkpoints (and LeRobot's after stripping its `model.` prefix).
 */
import { Module, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { ByteTokenizer, type Tokenizer, tokenizeBatch } from '../gr1/tokenizer.js';
import { validateXvlaConfig, type XvlaConfig } from './config.js';
import { EE6D_DIM, EE6D_GRIPPER, ee6dLoss, ee6dPostprocess, zeroGripper } from './ee6d.js';
import { Florence2Encoder } from './florence.js';
import { flowTarget, noisyActions, sampleChunk, stratifiedTimes } from './flow.js';
import { type FlowGuide, sampleGuidedChunk } from './guided-flow.js';
import { SoftPromptedTransformer, type XvlaConditioning } from './transformer.js';
import { SmallVlEncoder, type VisionLanguageEncoder } from './vl.js';

export type XvlaInputs = {
  /** [B, V, S, S, 3] float32 in [0, 1] */
  images: tf.Tensor;
  /** [B, V] bool */
  viewMask: tf.Tensor;
  /** [B, T] int32 */
  ids: tf.Tensor;
  /** [B, 20] EE6D proprio (gripper channels are zeroed inside) */
  proprio: tf.Tensor;
  /** [B] int32 */
  domain: tf.Tensor;
};

export type XvlaLossResult = {
  loss: tf.Scalar;
  position: tf.Scalar;
  rotation: tf.Scalar;
  gripper: tf.Scalar;
};

export type XvlaSample = {
  /** [B, H, 20] final estimate before post-processing (gripper channels are logits) */
  raw: tf.Tensor;
  /** [B, H, 20] post-processed (sigmoid on the gripper channels) */
  actions: tf.Tensor;
  /** [B, H, d] action tokens of the last denoising pass */
  actionTokens: tf.Tensor;
};

export class XvlaModel extends Module {
  readonly vlm: VisionLanguageEncoder;
  readonly transformer: SoftPromptedTransformer;
  readonly tokenizer: Tokenizer | undefined;

  constructor(
    readonly config: XvlaConfig,
    opts: { seed?: number; tokenizer?: Tokenizer } = {},
  ) {
    super();
    validateXvlaConfig(config);
    const rng = new Rng(opts.seed ?? 0);
    const vl = config.vl;
    if (vl.kind === 'small') {
      this.tokenizer = new ByteTokenizer(vl.contextLength);
      this.vlm = this.registerModule('vlm', new SmallVlEncoder(vl, this.tokenizer.vocabSize, rng.fork()));
    } else {
      // Florence-2's BART BPE is not bundled: pass opts.tokenizer (or feed ids directly).
      this.tokenizer = opts.tokenizer;
      this.vlm = this.registerModule('vlm', new Florence2Encoder(vl, rng.fork()));
    }
    this.transformer = this.registerModule('transformer', new SoftPromptedTransformer(config, rng.fork()));
    if (vl.frozen) this.vlm.freeze();
  }

  tokenize(texts: readonly string[]): tf.Tensor2D {
    if (!this.tokenizer) {
      throw new Error(
        'XvlaModel: the Florence-2 encoder needs a BART tokenizer (pass options.tokenizer, contextLength 50)',
      );
    }
    return tokenizeBatch(this.tokenizer, texts);
  }

  /** The VL features and the step-invariant conditioning (computed once per chunk). */
  condition(inp: XvlaInputs): XvlaConditioning {
    return tf.tidy(() => {
      const { vlm, aux } = this.vlm.encode(inp.images, inp.viewMask, inp.ids);
      return this.transformer.condition(vlm, aux, inp.domain);
    });
  }

  /**
   * Training loss (released objective unless config.objective = 'velocity'): actions [B, H, 20] with
   * gripper in {0, 1}; noise [B, H, 20] ~ N(0, I); u ∈ [0, 1) for the stratified times; mask [B, H] optional.
   *   x0:       EE6D loss of f(x_t, t) against A (gripper channels are BCE logits)
   *   velocity: the same group weights on f(x_t, t) − (ε − A) for xyz/rot6d; gripper channels still BCE logits
   */
  loss(inp: XvlaInputs, actions: tf.Tensor, noise: tf.Tensor, u: number, mask?: tf.Tensor): XvlaLossResult {
    return tf.tidy(() => {
      const b = actions.shape[0] ?? 1;
      const t = tf.tensor1d(stratifiedTimes(b, u));
      const cond = this.condition(inp);
      const xt = zeroGripper(noisyActions(actions, noise, t));
      const proprio = zeroGripper(inp.proprio);
      const { out } = this.transformer.forward(xt, proprio, t, cond, inp.domain);
      const w = this.config.loss;
      if (this.config.objective === 'x0') return ee6dLoss(out, actions, w, mask);
      // velocity: compare v̂ with ε − A on xyz/rot; keep the gripper channels as logits vs the labels
      const g = tf.tensor1d(
        Array.from({ length: EE6D_DIM }, (_, c) => ((EE6D_GRIPPER as readonly number[]).includes(c) ? 1 : 0)),
      );
      const target = tf.add(tf.mul(flowTarget('velocity', actions, noise), tf.sub(1, g)), tf.mul(actions, g));
      return ee6dLoss(out, target, w, mask);
    });
  }

  /**
   * Runs the sampler to the end from x1 [B, H, 20] (one noise draw reused by every pass) with
   * conditioning computed once. Velocity mode takes the gripper logits from the last pass. With `guide`
   * the sampler inpaints towards guide.target (RTC guidance, `guided-flow.ts`).
   */
  sample(
    inp: XvlaInputs,
    x1: tf.Tensor,
    steps = this.config.steps,
    cond?: XvlaConditioning,
    guide?: FlowGuide,
  ): XvlaSample {
    return tf.tidy(() => {
      const c = cond ?? this.condition(inp);
      const proprio = zeroGripper(inp.proprio);
      let tokens: tf.Tensor | undefined;
      let lastOut: tf.Tensor | undefined;
      const f = (xt: tf.Tensor, t: tf.Tensor) => {
        const r = this.transformer.forward(zeroGripper(xt), proprio, t, c, inp.domain);
        if (tokens) tokens.dispose();
        if (lastOut) lastOut.dispose();
        tokens = tf.keep(r.actionTokens);
        lastOut = tf.keep(tf.clone(r.out));
        return r.out;
      };
      let raw = guide
        ? sampleGuidedChunk(this.config.objective, f, x1, steps, guide)
        : sampleChunk(this.config.objective, f, x1, steps);
      if (this.config.objective === 'velocity' && lastOut) {
        const g = tf.tensor1d(
          Array.from({ length: EE6D_DIM }, (_, k) =>
            (EE6D_GRIPPER as readonly number[]).includes(k) ? 1 : 0,
          ),
        );
        raw = tf.add(tf.mul(raw, tf.sub(1, g)), tf.mul(lastOut, g));
      }
      // kept tensors escape every tidy: hand back tracked copies and free the kept ones
      const kept = tokens as tf.Tensor | undefined;
      if (!kept) throw new Error('XvlaModel.sample: no denoising pass ran');
      const actionTokens = tf.clone(kept);
      kept.dispose();
      (lastOut as tf.Tensor | undefined)?.dispose();
      return { raw, actions: ee6dPostprocess(raw), actionTokens };
    });
  }
}
