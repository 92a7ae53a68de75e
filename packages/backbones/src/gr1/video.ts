/**
 * GR-1's video prediction (research/gr1-libero-calvin.md §1.6): the future-frame objective of phase 1.
 * Q [OBS] query tokens per camera read the trunk beside the action queries (pure read-outs: no token
 * attends to a query token, so the actions are the same with or without them), and a light MAE-style
 * decoder turns each camera's read-outs into the pixels of its frame `offset` steps ahead:
 *
 *   read-outs [Q, d] → Linear d→d_dec ⊕ P mask tokens + fixed 2-D sin-cos positions → blocks → LN →
 *   Linear d_dec→p²·3 on the last P tokens = one prediction per image patch
 *
 * The target is that frame cut into the ViT's patches (channel-last inside a patch) and standardised per
 * patch (MAE's norm-pix loss); the loss is the squared error, averaged per camera and summed over cameras
 * (GR-1: L_obs + L_hand_obs), over real history slots. Training only: inference never builds [OBS] tokens.
 */
import { init, Linear, Module, type Rng, Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { patchify, sincos2d } from './vit.js';

export interface Gr1VideoConfig {
  /** [OBS] query tokens per camera (GR-1: 10, its 9 resampler latents + the CLS slot). */
  queries: number;
  /** The target frame is this many steps after the observed one (GR-1: 3), the episode's last at its end. */
  offset: number;
  /** w in L_anc + w·Σ_cameras L_video (GR-MG's finetune config: 0.1). */
  weight: number;
  /** Decoder width, blocks and heads (GR-1: 384, 2, 16). */
  dim: number;
  depth: number;
  heads: number;
  /**
   * Side in pixels of the predicted frame: the camera's own size (absent = this, GR-1) or a divisor of it
   * that is a multiple of the ViT's patch grid, the frame box-averaged down to it first. The patches stay
   * the ViT's, each predicting (targetSize / grid)² pixels: at half size the decoder's output, the targets
   * and their gradients are a quarter as large.
   */
  targetSize?: number;
}

/**
 * Floor of the per-patch variance in the norm-pix target, on pixels in [0, 1]: the sim's walls and table are
 * flat, and GR-1's 1e-6 on the std would blow a patch's 1/255 rendering noise up to unit variance. 1e-4
 * (std 0.01 ≈ 2.6/255) keeps flat patches near zero and leaves textured ones standardised.
 */
export const VIDEO_TARGET_VAR_EPS = 1e-4;

export function validateVideoConfig(
  v: Gr1VideoConfig,
  path = 'video',
  image?: { imageSize: number; patchSize: number },
): void {
  for (const k of ['queries', 'offset', 'dim', 'depth', 'heads'] as const) {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x <= 0)
      throw new Error(`policy config: ${path}.${k} must be a positive integer, got ${JSON.stringify(x)}`);
  }
  if (!(typeof v.weight === 'number' && v.weight >= 0))
    throw new Error(`policy config: ${path}.weight must be a number ≥ 0, got ${JSON.stringify(v.weight)}`);
  if (v.dim % v.heads !== 0)
    throw new Error(`policy config: ${path}.dim (${v.dim}) must be a multiple of ${path}.heads (${v.heads})`);
  if (v.dim % 4 !== 0)
    throw new Error(
      `policy config: ${path}.dim must be a multiple of 4 (2-D sin-cos positions), got ${v.dim}`,
    );
  if (v.targetSize !== undefined && image) {
    const g = image.imageSize / image.patchSize;
    const t = v.targetSize;
    if (!(Number.isInteger(t) && t > 0 && image.imageSize % t === 0 && t % g === 0))
      throw new Error(
        `policy config: ${path}.targetSize must divide the image size ${image.imageSize} and be a multiple of its patch grid ${g}, got ${JSON.stringify(t)}`,
      );
  }
}

/**
 * images [N, S, S, 3] in [0, 1] → [N, P, p²·3]: row-major patches, each (py, px, C)-ordered and
 * standardised by its own mean and unbiased variance (floor VIDEO_TARGET_VAR_EPS).
 */
export function videoTargets(images: tf.Tensor, patch: number): tf.Tensor {
  const [, s, s2, c] = images.shape;
  if (images.rank !== 4 || s !== s2 || c !== 3 || s % patch !== 0)
    throw new Error(
      `videoTargets: images must be [N, S, S, 3] with S a multiple of ${patch}, got [${images.shape.join(', ')}]`,
    );
  return tf.tidy(() => {
    const k = patch * patch * 3;
    const x = patchify(images, patch); // [N, P, p²·3]
    const mean = tf.mean(x, -1, true); // [N, P, 1]
    const centred = tf.sub(x, mean);
    const variance = tf.div(tf.sum(tf.square(centred), -1, true), k - 1); // unbiased, [N, P, 1]
    return tf.div(centred, tf.sqrt(tf.add(variance, VIDEO_TARGET_VAR_EPS)));
  });
}

/**
 * pred, target [B, L, V, P, K], slotMask [B, L] (1 = real frame) → Σ_v mean_{P,K}(pred − target)², averaged
 * over real slots (0 when there is none).
 */
export function videoLoss(pred: tf.Tensor, target: tf.Tensor, slotMask: tf.Tensor): tf.Scalar {
  if (pred.rank !== 5 || pred.shape.join() !== target.shape.join())
    throw new Error(
      `videoLoss: pred and target must be the same [B, L, V, P, K], got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`,
    );
  const [b, l] = pred.shape;
  if (slotMask.shape.join() !== [b, l].join())
    throw new Error(`videoLoss: slotMask must be [${b}, ${l}], got [${slotMask.shape.join(', ')}]`);
  return tf.tidy(() => {
    const perCamera = tf.mean(tf.square(tf.sub(pred, target)), [3, 4]); // [B, L, V]
    const perSlot = tf.sum(perCamera, 2); // [B, L]
    const m = tf.cast(slotMask, 'float32');
    return tf.div(tf.sum(tf.mul(perSlot, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/** images [N, S, S, 3] → [N, t, t, 3], each output pixel the mean of its (S/t)² block (t divides S). */
export function boxDownsample(images: tf.Tensor, t: number): tf.Tensor {
  const [n, s] = images.shape;
  if (t === s) return images.clone();
  const f = s / t;
  return tf.tidy(() => tf.mean(tf.reshape(images, [n, t, f, t, f, 3]), [2, 4])); // [N, t, f, t, f, 3] → [N, t, t, 3]
}

/** The light MAE-style pixel decoder's blocks (MAE: ViT blocks, MLP ratio 4, xavier init), here and in mae.ts. */
export function pixelDecoder(dim: number, heads: number, depth: number, rng: Rng): Transformer {
  return new Transformer({
    dim,
    heads,
    depth,
    mlpRatio: 4,
    mode: 'bidirectional',
    activation: 'gelu',
    fusedQkv: true,
    init: 'xavier',
    rng,
  });
}

export class VideoPredictor extends Module {
  /** [OBS] queries [V·Q, d], camera-major. */
  readonly queries: tf.Variable;
  readonly decoder_embed: Linear;
  readonly mask_token: tf.Variable;
  /** Fixed 2-D sin-cos positions of the mask tokens [1, P, d_dec] (not trained, not saved). */
  readonly decoder_pos: tf.Variable;
  readonly decoder: Transformer;
  readonly decoder_pred: Linear;
  readonly patches: number;
  readonly pixelsPerPatch: number;
  /** Side of the target frame and of its patches. */
  readonly targetSize: number;
  readonly targetPatch: number;

  constructor(
    readonly config: Gr1VideoConfig,
    readonly layout: { cameras: number; trunkDim: number; imageSize: number; patchSize: number },
    rng: Rng,
  ) {
    super();
    validateVideoConfig(config, 'video', layout);
    const { queries, dim } = config;
    const { cameras, trunkDim, imageSize, patchSize } = layout;
    const g = imageSize / patchSize;
    this.patches = g * g;
    this.targetSize = config.targetSize ?? imageSize;
    this.targetPatch = this.targetSize / g;
    this.pixelsPerPatch = this.targetPatch * this.targetPatch * 3;
    // GPT-2 scale like the action queries; MAE's mask token init.
    this.queries = this.registerParameter('queries', () =>
      init.normal([cameras * queries, trunkDim], rng, { std: 0.02 }),
    );
    this.decoder_embed = this.registerModule('decoder_embed', new Linear(trunkDim, dim, { rng }));
    this.mask_token = this.registerParameter('mask_token', () =>
      init.normal([1, 1, dim], rng, { std: 0.02 }),
    );
    this.decoder_pos = this.registerBuffer(
      'decoder_pos',
      () => tf.tidy(() => tf.slice(sincos2d(dim, g), [0, 1, 0], [1, this.patches, dim])), // drop the CLS row
      { persistent: false },
    );
    this.decoder = this.registerModule('decoder', pixelDecoder(dim, config.heads, config.depth, rng));
    this.decoder_pred = this.registerModule('decoder_pred', new Linear(dim, this.pixelsPerPatch, { rng }));
  }

  /** Future frames [N, S, S, 3] in [0, 1] → this predictor's norm-pix targets [N, P, K]. */
  targets(frames: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // At the camera's own size the frames are the target as they are (no copy).
      const t = this.targetSize;
      return videoTargets(frames.shape[1] === t ? frames : boxDownsample(frames, t), this.targetPatch);
    });
  }

  /** The [OBS] read-outs [B, L, V·Q, d] → per-patch pixel predictions [B, L, V, P, p²·3]. */
  forward(features: tf.Tensor): tf.Tensor {
    const { cameras, trunkDim } = this.layout;
    const q = this.config.queries;
    const [b, l, vq, d] = features.shape;
    if (features.rank !== 4 || vq !== cameras * q || d !== trunkDim)
      throw new Error(
        `VideoPredictor: features must be [B, L, ${cameras * q}, ${trunkDim}], got [${features.shape.join(', ')}]`,
      );
    return tf.tidy(() => {
      const n = b * l * cameras;
      const p = this.patches;
      const dd = this.config.dim;
      const x = this.decoder_embed.forward(tf.reshape(features, [n, q, d])); // [B, L, V·Q, d] → [B·L·V, Q, d] → [n, Q, d_dec]
      const masks = tf.tile(tf.add(this.mask_token, this.decoder_pos), [n, 1, 1]); // [n, P, d_dec]
      const out = this.decoder.forward(tf.concat([x, masks], 1)); // [n, Q+P, d_dec]
      const pix = this.decoder_pred.forward(tf.slice(out, [0, q, 0], [n, p, dd])); // [n, P, p²·3]
      return tf.reshape(pix, [b, l, cameras, p, this.pixelsPerPatch]); // [B, L, V, P, p²·3]
    });
  }
}
