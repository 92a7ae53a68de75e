/**
 * Masked-autoencoder pretraining of GR-1's ViT (He et al. 2022; GR-1's vision encoder is an MAE-pretrained
 * ViT, research/gr1-libero-calvin.md §1): the offline analogue on a robot's own frames. Per image a random
 * `maskRatio` of the patches is hidden; the ViT encodes the CLS token and the visible patches only, and a
 * light decoder (its own width, fixed 2-D sin-cos positions, MAE's mask token) predicts the hidden
 * patches' pixels:
 *
 *   visible patches (+ positions) → ViT → Linear d_v→d_dec ⊕ mask tokens, back in patch order
 *   (+ decoder positions) → blocks → LN → Linear d_dec→p²·3 = one prediction per patch
 *
 * The target is the patch standardised by its own mean and variance (MAE's norm-pix loss, floor
 * VIDEO_TARGET_VAR_EPS) and the loss is the squared error averaged over the hidden patches only.
 */
import { init, Linear, Module, type Rng, type Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { pixelDecoder, videoTargets } from './video.js';
import { normalizeImages, patchify, sincos2d, type VisionTransformer } from './vit.js';

export interface MaeConfig {
  /** Share of patches hidden per image (MAE: 0.75). */
  maskRatio: number;
  /** Decoder width, blocks and heads (MAE: 512, 8, 16; small here: the ViT itself is 128 wide). */
  dim: number;
  depth: number;
  heads: number;
}

export const DEFAULT_MAE: MaeConfig = { maskRatio: 0.75, dim: 64, depth: 1, heads: 4 };

export function validateMaeConfig(c: MaeConfig, patches: number): void {
  for (const k of ['dim', 'depth', 'heads'] as const) {
    const x = c[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x <= 0)
      throw new Error(`mae.${k} must be a positive integer, got ${JSON.stringify(x)}`);
  }
  if (c.dim % c.heads !== 0)
    throw new Error(`mae.dim (${c.dim}) must be a multiple of mae.heads (${c.heads})`);
  if (c.dim % 4 !== 0)
    throw new Error(`mae.dim must be a multiple of 4 (2-D sin-cos positions), got ${c.dim}`);
  const keep = visibleCount(patches, c.maskRatio);
  if (!(typeof c.maskRatio === 'number' && c.maskRatio > 0 && c.maskRatio < 1) || keep < 1 || keep >= patches)
    throw new Error(
      `mae.maskRatio must leave at least one patch visible and hide at least one of ${patches}, got ${JSON.stringify(c.maskRatio)}`,
    );
}

/** Patches an image keeps visible: round((1 − ratio) · P), as MAE's int(L · (1 − mask_ratio)) up to rounding. */
export function visibleCount(patches: number, maskRatio: number): number {
  return Math.round(patches * (1 - maskRatio));
}

/**
 * Random masks for n images of p patches, `keep` visible each: `visible` [n·keep] (flat indices n·p + patch of
 * the visible patches, in shuffled order), `restore` [n·p] (for every patch in row-major order, the flat index
 * of its slot in the shuffled sequence [visible…, hidden…]), `hidden` [n·p] (1 = hidden, row-major).
 */
export function randomMasks(
  n: number,
  p: number,
  keep: number,
  rng: Rng,
): { visible: Int32Array; restore: Int32Array; hidden: Float32Array } {
  const visible = new Int32Array(n * keep);
  const restore = new Int32Array(n * p);
  const hidden = new Float32Array(n * p);
  const order = new Int32Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) order[j] = j;
    for (let j = p - 1; j > 0; j--) {
      const r = Math.floor(rng.uniform() * (j + 1)); // Fisher–Yates
      [order[j], order[r]] = [order[r], order[j]];
    }
    for (let s = 0; s < p; s++) {
      const patch = order[s];
      if (s < keep) visible[i * keep + s] = i * p + patch;
      else hidden[i * p + patch] = 1;
      restore[i * p + patch] = i * p + s;
    }
  }
  return { visible, restore, hidden };
}

/** pred, target [N, P, K], hidden [N, P] (1 = hidden) → mean over hidden patches of mean_K (pred − target)². */
export function maeLoss(pred: tf.Tensor, target: tf.Tensor, hidden: tf.Tensor): tf.Scalar {
  if (pred.rank !== 3 || pred.shape.join() !== target.shape.join())
    throw new Error(
      `maeLoss: pred and target must be the same [N, P, K], got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`,
    );
  if (hidden.shape.join() !== pred.shape.slice(0, 2).join())
    throw new Error(
      `maeLoss: hidden must be [${pred.shape.slice(0, 2).join(', ')}], got [${hidden.shape.join(', ')}]`,
    );
  return tf.tidy(() => {
    const perPatch = tf.mean(tf.square(tf.sub(pred, target)), -1); // [N, P]
    return tf.div(tf.sum(tf.mul(perPatch, hidden)), tf.maximum(tf.sum(hidden), 1)) as tf.Scalar;
  });
}

export class MaeDecoder extends Module {
  readonly decoder_embed: Linear;
  readonly mask_token: tf.Variable;
  /** Fixed 2-D sin-cos positions [1, 1 + P, d_dec] (not trained, not saved). */
  readonly decoder_pos: tf.Variable;
  readonly decoder: Transformer;
  readonly decoder_pred: Linear;
  readonly patches: number;
  readonly keep: number;

  constructor(
    readonly config: MaeConfig,
    readonly vit: VisionTransformer,
    rng: Rng,
  ) {
    super();
    const { imageSize, patchSize, dim: dv } = vit.config;
    const g = imageSize / patchSize;
    this.patches = g * g;
    validateMaeConfig(config, this.patches);
    this.keep = visibleCount(this.patches, config.maskRatio);
    const { dim } = config;
    this.decoder_embed = this.registerModule('decoder_embed', new Linear(dv, dim, { rng }));
    this.mask_token = this.registerParameter('mask_token', () =>
      init.normal([1, 1, dim], rng, { std: 0.02 }),
    );
    this.decoder_pos = this.registerBuffer('decoder_pos', () => sincos2d(dim, g), { persistent: false });
    this.decoder = this.registerModule('decoder', pixelDecoder(dim, config.heads, config.depth, rng));
    this.decoder_pred = this.registerModule(
      'decoder_pred',
      new Linear(dim, patchSize * patchSize * 3, { rng }),
    );
  }

  /** images [N, S, S, 3] in [0, 1] → the MAE loss of the ViT and this decoder under fresh random masks. */
  loss(images: tf.Tensor, rng: Rng): tf.Scalar {
    const vit = this.vit;
    const { patchSize: p, dim: dv } = vit.config;
    const n = images.shape[0];
    const [np, k, dd] = [this.patches, this.keep, this.config.dim];
    const m = randomMasks(n, np, k, rng);
    return tf.tidy(() => {
      const flat = patchify(normalizeImages(images), p); // [N, P, p²·3]
      const pos = vit.pos_embed; // [1, 1 + P, d_v]
      const tokens = tf.add(
        vit.patch_embed.forward(flat, vit.patchWeightHwc()),
        tf.slice(pos, [0, 1, 0], [1, np, dv]),
      ); // [N, P, d_v]
      const visible = tf.reshape(tf.gather(tf.reshape(tokens, [n * np, dv]), m.visible), [n, k, dv]); // [N·P, d_v] → [N·K, d_v] → [N, K, d_v]
      const cls = tf.tile(tf.add(vit.cls_token, tf.slice(pos, [0, 0, 0], [1, 1, dv])), [n, 1, 1]); // [N, 1, d_v]
      const enc = this.decoder_embed.forward(vit.encoder.forward(tf.concat([cls, visible], 1))); // [N, 1 + K, d_dec]
      const shuffled = tf.concat(
        [tf.slice(enc, [0, 1, 0], [n, k, dd]), tf.tile(this.mask_token, [n, np - k, 1])],
        1,
      ); // [N, P, d_dec]: visible then hidden, in each image's shuffled order
      const inOrder = tf.reshape(tf.gather(tf.reshape(shuffled, [n * np, dd]), m.restore), [n, np, dd]); // [N·P, d_dec] → row-major patches → [N, P, d_dec]
      const seq = tf.add(tf.concat([tf.slice(enc, [0, 0, 0], [n, 1, dd]), inOrder], 1), this.decoder_pos); // [N, 1 + P, d_dec]
      const out = this.decoder.forward(seq);
      const pred = this.decoder_pred.forward(tf.slice(out, [0, 1, 0], [n, np, dd])); // [N, P, p²·3]
      const target = videoTargets(images, p); // [N, P, p²·3], norm-pix
      return maeLoss(pred, target, tf.tensor2d(m.hidden, [n, np]));
    });
  }
}
