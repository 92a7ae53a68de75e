/**
 * GR-1 as an AnchorRefine backbone (research/gr1-libero-calvin.md §1). Per history slot the context is
 *
 *   [LANG, STATE, cam_0 latents (K), cam_0 CLS, cam_1 latents (K), cam_1 CLS, …]    N = 2 + V·(K+1)
 *
 * (with `vision.keypoints` each camera's CLS is followed by its keypoint token: N = 2 + V·(K+2)),
 *
 * built by the frozen-or-trainable encoders (E_v: ViT + Perceiver resampler, shared by the cameras; E_l:
 * text transformer; E_s: arm Linear ⊕ gripper one-hot Linear → Linear), each projected to width d, plus
 * the slot's time embedding (GR-1 has no other position signal; query tokens get none).
 */
import { nativeHostValues } from '@anchor-refine/core-tensors';
import { Embedding, init, Linear, Module, ModuleList, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type {
  Backbone,
  Context,
  EncodeOptions,
  HeadOptions,
  ObservationTensors,
  QueryTrunk,
  ReadoutHead,
  TrunkOptions,
} from '../types.js';
import { type Gr1Config, validateGr1Config } from './config.js';
import { EncodingCache, tapeActive } from './encoding_cache.js';
import { Gr1Head } from './head.js';
import { SpatialSoftmax } from './keypoints.js';
import { PerceiverResampler } from './perceiver.js';
import { TextEncoder } from './text.js';
import { ByteTokenizer, type Tokenizer, tokenizeBatch } from './tokenizer.js';
import { Gr1Trunk } from './trunk.js';
import { VisionTransformer } from './vit.js';

/**
 * Per-camera projections of the CLS feature and the resampled latents into the trunk width, and (with
 * `vision.keypoints`) the camera's spatial-softmax keypoints and their projection.
 */
class CameraEmbedding extends Module {
  readonly embed_cls: Linear;
  readonly embed_patch: Linear;
  readonly keypoints: SpatialSoftmax | undefined;
  readonly embed_keypoints: Linear | undefined;
  constructor(vision: Gr1Config['vision'], dim: number, rng: Rng) {
    super();
    const dv = vision.dim;
    this.embed_cls = this.registerModule('embed_cls', new Linear(dv, dim, { rng }));
    this.embed_patch = this.registerModule('embed_patch', new Linear(dv, dim, { rng }));
    const k = vision.keypoints ?? 0;
    if (k > 0) {
      const g = vision.imageSize / vision.patchSize;
      this.keypoints = this.registerModule('keypoints', new SpatialSoftmax(dv, k, g, rng));
      this.embed_keypoints = this.registerModule('embed_keypoints', new Linear(2 * k, dim, { rng }));
    }
  }
}

export interface Gr1BackboneOptions {
  seed?: number;
  /** Tokenizer for `text.tokenizer: 'clip'` (e.g. a CLIP BPE loaded from a local folder). */
  tokenizer?: Tokenizer;
}

export class Gr1Backbone extends Module implements Backbone {
  readonly kind = 'gr1';
  readonly dim: number;
  readonly history: number;
  readonly cameras: readonly string[];
  readonly contextTokens: number;
  readonly vision: VisionTransformer;
  readonly resampler: PerceiverResampler;
  readonly text: TextEncoder;
  readonly embed_lang: Linear;
  readonly embed_arm_state: Linear;
  readonly embed_gripper_state: Linear;
  readonly embed_state: Linear;
  readonly camera_embed: ModuleList<CameraEmbedding>;
  readonly embed_timestep: Embedding;
  readonly tokenizer: Tokenizer | undefined;
  private readonly seed: number;
  /** Inference-time encodings of frames and instructions (each camera sees a frame `history` times). */
  private readonly cache: EncodingCache;

  constructor(
    readonly config: Gr1Config,
    opts: Gr1BackboneOptions = {},
  ) {
    super();
    validateGr1Config(config);
    this.seed = opts.seed ?? 0;
    const rng = new Rng(this.seed);
    const d = config.dim;
    const dv = config.vision.dim;
    this.dim = d;
    this.history = config.history;
    this.cameras = [...config.cameras];
    // a few steps' frames per camera: the L of the current window plus the next step's overlap
    this.cache = new EncodingCache(2 * config.history);
    const kpTokens = (config.vision.keypoints ?? 0) > 0 ? 1 : 0;
    this.contextTokens = 2 + config.cameras.length * (config.resampler.numLatents + 1 + kpTokens);
    this.vision = this.registerModule('vision', new VisionTransformer(config.vision, rng.fork()));
    this.resampler = this.registerModule(
      'resampler',
      new PerceiverResampler(dv, config.resampler, rng.fork()),
    );
    this.text = this.registerModule('text', new TextEncoder(config.text, rng.fork()));
    const r = rng.fork();
    this.embed_lang = this.registerModule('embed_lang', new Linear(config.text.outDim, d, { rng: r }));
    this.embed_arm_state = this.registerModule('embed_arm_state', new Linear(config.stateDim, d, { rng: r }));
    this.embed_gripper_state = this.registerModule('embed_gripper_state', new Linear(2, d, { rng: r }));
    this.embed_state = this.registerModule('embed_state', new Linear(2 * d, d, { rng: r }));
    this.camera_embed = this.registerModule('camera_embed', new ModuleList<CameraEmbedding>());
    for (let i = 0; i < config.cameras.length; i++)
      this.camera_embed.push(new CameraEmbedding(config.vision, d, r));
    this.embed_timestep = this.registerModule(
      'embed_timestep',
      new Embedding(config.history, d, { rng: r, weightInit: (s, g) => init.normal(s, g, { std: 0.02 }) }),
    );
    if (config.text.tokenizer === 'byte') this.tokenizer = new ByteTokenizer(config.text.contextLength);
    else this.tokenizer = opts.tokenizer;
    if (config.vision.frozen) this.vision.freeze();
    if (config.text.frozen) this.text.freeze();
  }

  frozenByDefault(): tf.Variable[] {
    return [
      ...(this.config.vision.frozen ? this.vision.parameters() : []),
      ...(this.config.text.frozen ? this.text.parameters() : []),
    ];
  }

  tokenize(texts: readonly string[]): tf.Tensor2D {
    if (!this.tokenizer) {
      throw new Error(
        "Gr1Backbone: text.tokenizer 'clip' needs a tokenizer (pass options.tokenizer, e.g. a CLIP BPE from a local folder)",
      );
    }
    return tokenizeBatch(this.tokenizer, texts);
  }

  private checkObs(obs: ObservationTensors): [number, number] {
    const { history: l, cameras } = this;
    const [b] = obs.state.shape;
    const s = this.config.stateDim;
    const px = this.config.vision.imageSize;
    const fail = (field: string, want: string, got: readonly number[]) => {
      throw new Error(`Gr1Backbone.encode: ${field} must be ${want}, got [${got.join(', ')}]`);
    };
    if (obs.state.rank !== 3 || obs.state.shape[1] !== l || obs.state.shape[2] !== s) {
      fail('state', `[B, ${l}, ${s}]`, obs.state.shape);
    }
    if (obs.gripperState.rank !== 2 || obs.gripperState.shape[0] !== b || obs.gripperState.shape[1] !== l) {
      fail('gripperState', `[${b}, ${l}]`, obs.gripperState.shape);
    }
    if (obs.historyMask.rank !== 2 || obs.historyMask.shape[0] !== b || obs.historyMask.shape[1] !== l) {
      fail('historyMask', `[${b}, ${l}]`, obs.historyMask.shape);
    }
    const t = this.config.text.contextLength;
    if (obs.language.rank !== 2 || obs.language.shape[0] !== b || obs.language.shape[1] !== t) {
      fail('language', `[${b}, ${t}] token ids`, obs.language.shape);
    }
    for (const cam of cameras) {
      const img = obs.images[cam];
      if (img === undefined) {
        throw new Error(
          `Gr1Backbone.encode: missing camera '${cam}' (have: ${Object.keys(obs.images).join(', ') || 'none'})`,
        );
      }
      const ok = img.rank === 5 && img.shape[0] === b && img.shape[1] === l;
      if (!ok || img.shape[2] !== px || img.shape[3] !== px || img.shape[4] !== 3) {
        fail(`images.${cam}`, `[${b}, ${l}, ${px}, ${px}, 3]`, img.shape);
      }
    }
    return [b, l];
  }

  encode(obs: ObservationTensors, opts: EncodeOptions = {}): Context {
    const [b, l] = this.checkObs(obs);
    const d = this.dim;
    // In a control loop (reuseEncodings, outside training and any gradient tape) per-frame and
    // per-instruction encodings are constants of the weights: look them up (encoding_cache.ts).
    const cache = opts.reuseEncodings && !this.training && !tapeActive() ? this.cache : undefined;
    cache?.validate(this.parameters());
    const tokens = tf.tidy(() => {
      const lang = tf.tile(
        tf.reshape(
          this.perRow(cache, 'language', obs.language, (ids) => this.languageToken(ids)),
          [b, 1, 1, d],
        ),
        [1, l, 1, 1],
      ); // [B, L, 1, d]
      // E_s: arm Linear ⊕ gripper one-hot Linear → Linear, no nonlinearity.
      const oneHot = tf.oneHot(tf.cast(obs.gripperState, 'int32'), 2); // [B, L, 2]
      const arm = this.embed_arm_state.forward(obs.state); // [B, L, d]
      const grip = this.embed_gripper_state.forward(tf.cast(oneHot, 'float32')); // [B, L, d]
      const state = tf.reshape(this.embed_state.forward(tf.concat([arm, grip], -1)), [b, l, 1, d]); // [B, L, 1, d]
      const parts: tf.Tensor[] = [lang, state];
      const px = this.config.vision.imageSize;
      // Every camera's frames go through the shared ViT + resampler as one batch (one kernel per layer
      // for all cameras instead of one per camera), then through their own camera's projections.
      if (!cache) {
        const imgs = this.cameras.map((cam) => tf.reshape(obs.images[cam], [b * l, px, px, 3])); // V × [B·L, S, S, 3]
        for (const cam of this.cameraTokens(
          imgs,
          imgs.map((_, i) => i),
        ))
          for (const t of cam) parts.push(tf.reshape(t, [b, l, t.shape[1] ?? 0, d])); // [B, L, n, d]
      } else {
        const imgs = this.cameras.map((cam) => tf.reshape(obs.images[cam], [b * l, px * px * 3])); // V × [B·L, S·S·3]
        const slots = this.cameras.map((cam) => `camera:${cam}`);
        const cams = this.perRows(cache, slots, imgs, (rows, which) =>
          this.cameraTokens(
            rows.map((x) => tf.reshape(x, [x.shape[0], px, px, 3])),
            which,
          ).map((t) => tf.concat(t, 1)),
        ); // V × [B·L, n, d]
        for (const c of cams) parts.push(tf.reshape(c, [b, l, c.shape[1] ?? 0, d])); // [B, L, n, d]
      }
      const c = tf.concat(parts, 2); // [B, L, N, d]
      const time = tf.reshape(this.embed_timestep.weight, [1, l, 1, d]); // slot t's row, broadcast over tokens
      return tf.add(c, time);
    });
    return { tokens, historyMask: tf.cast(obs.historyMask, 'bool') };
  }

  /** E_l: ids [n, T] → [n, d], one instruction vector per row, L2-normalized as GR-1 does with CLIP features. */
  private languageToken(ids: tf.Tensor): tf.Tensor {
    const e = this.text.forward(ids); // [n, dt]
    const unit = tf.div(e, tf.add(tf.norm(e, 'euclidean', -1, true), 1e-6));
    return this.embed_lang.forward(unit); // [n, d]
  }

  /**
   * E_v for the cameras `which` (indices into this.cameras), images[j] [n_j, S, S, 3] for camera which[j]:
   * the shared ViT + resampler on all of them as one batch, then each camera's projections. Returns per
   * camera [n_j, K, d], [n_j, 1, d] (, [n_j, 1, d]).
   */
  private cameraTokens(images: tf.Tensor[], which: number[]): tf.Tensor[][] {
    const d = this.dim;
    const counts = images.map((x) => x.shape[0]);
    const all = images.length === 1 ? images[0] : tf.concat(images, 0); // [Σn, S, S, 3]
    const { cls, patches } = this.vision.forward(all); // [Σn, dv], [Σn, P, dv]
    const latents = this.resampler.forward(patches); // [Σn, K, dv]
    const split = (t: tf.Tensor) => (counts.length === 1 ? [t] : tf.split(t, counts, 0)); // per camera [n_j, …]
    const clsOf = split(cls);
    const latentsOf = split(latents);
    const keypoints = this.camera_embed.at(which[0]).keypoints !== undefined;
    const patchesOf = keypoints ? split(patches) : [];
    return which.map((i, j) => {
      const n = counts[j];
      const proj = this.camera_embed.at(i);
      const out = [
        proj.embed_patch.forward(latentsOf[j]),
        tf.reshape(proj.embed_cls.forward(clsOf[j]), [n, 1, d]),
      ]; // [n, K, d], [n, 1, d]
      if (proj.keypoints && proj.embed_keypoints) {
        const kp = proj.keypoints.forward(patchesOf[j]); // [n, 2K]
        out.push(tf.reshape(proj.embed_keypoints.forward(kp), [n, 1, d])); // [n, 1, d]
      }
      return out;
    });
  }

  /** perRows for one slot. */
  private perRow(
    cache: EncodingCache | undefined,
    slot: string,
    x: tf.Tensor,
    encode: (rows: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    return this.perRows(cache, [slot], [x], ([rows]) => [encode(rows)])[0];
  }

  /**
   * encode(rows) for the rows of each xs[s] [n_s, …] (cache slot slots[s]); with a cache, only the rows it
   * has not seen are encoded, every slot's in one encode call (`which`: the slots that have any, in order),
   * and each result is assembled from per-row encodings. Returns per slot [n_s, …encoding].
   */
  private perRows(
    cache: EncodingCache | undefined,
    slots: readonly string[],
    xs: tf.Tensor[],
    encode: (rows: tf.Tensor[], which: number[]) => tf.Tensor[],
  ): tf.Tensor[] {
    if (!cache)
      return encode(
        xs,
        xs.map((_, s) => s),
      );
    const plans = xs.map((x, s) => {
      const n = x.shape[0];
      // read in place on `native` (dataSync() would mark the array handed out: the pool could not reuse it)
      const values: Float32Array | Int32Array =
        x.dtype === 'float32'
          ? (nativeHostValues(x) ?? (x.dataSync() as Float32Array))
          : (x.dataSync() as Int32Array);
      const width = values.length / n;
      const row = (j: number) => values.subarray(j * width, (j + 1) * width);
      const rows: Array<tf.Tensor | undefined> = [];
      const missing: number[] = [];
      for (let j = 0; j < n; j++) {
        rows[j] = cache.get(slots[s], row(j));
        if (!rows[j]) missing.push(j);
      }
      return { n, row, rows, missing, fresh: [] as tf.Tensor[] };
    });
    const which = plans.flatMap((p, s) => (p.missing.length > 0 ? [s] : []));
    const encoded =
      which.length > 0
        ? encode(
            which.map((s) => tf.gather(xs[s], plans[s].missing)),
            which,
          )
        : [];
    which.forEach((s, w) => {
      const p = plans[s];
      p.fresh = tf.unstack(encoded[w]); // m × […]
      p.missing.forEach((j, m) => {
        p.rows[j] = p.fresh[m];
      });
    });
    const outs = plans.map((p) => tf.stack(p.rows as tf.Tensor[])); // [n, …]
    // stored after use: storing may drop older entries, some of which this call just read
    plans.forEach((p, s) => {
      for (const [m, j] of p.missing.entries()) cache.set(slots[s], p.row(j), p.fresh[m], p.n);
    });
    return outs;
  }

  protected override releaseResources(): void {
    this.cache.clear();
  }

  createTrunk(opts: TrunkOptions): QueryTrunk {
    return new Gr1Trunk(this.config, opts.depth, new Rng(opts.seed));
  }

  createHead(opts: HeadOptions): ReadoutHead {
    return new Gr1Head({
      dim: this.dim,
      hidden: this.config.headHidden,
      armDim: opts.armDim,
      activation: this.config.headActivation,
      zeroInitOutput: opts.zeroInitOutput,
      rng: new Rng(opts.seed),
    });
  }
}
