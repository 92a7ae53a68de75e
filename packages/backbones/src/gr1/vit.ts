/**
 * Vision encoder E_v: a ViT (MAE / DINO layout) over non-overlapping patches. Returns the CLS feature and
 * the patch tokens after the final norm, as GR-1's `VisionTransformer.forward` does.
 */
import { inPlaceWrites } from '@anchor-refine/core-tensors';
import { init, Linear, Module, type Rng, sinusoidalEmbedding, Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { Gr1VisionConfig } from './config.js';
import { tapeActive } from './encoding_cache.js';

/** ImageNet statistics GR-1 normalizes with (torchvision Normalize). */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** images [N, S, S, 3] in [0, 1] → normalized with the ImageNet statistics, as the ViT's input. */
export function normalizeImages(images: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(images, MEAN), STD));
}

export class VisionTransformer extends Module {
  readonly numPatches: number;
  /** Linear over flattened (channel, row, col) patches: the same numbers as a conv with stride = kernel. */
  readonly patch_embed: Linear;
  readonly cls_token: tf.Variable;
  readonly pos_embed: tf.Variable;
  readonly encoder: Transformer;
  /** The patch weight in (py, px, C) order, kept between inference calls while the weight is unchanged. */
  private permuted: { weight: object; writes: number; value: tf.Tensor } | undefined;

  constructor(
    readonly config: Gr1VisionConfig,
    rng: Rng,
  ) {
    super();
    const { imageSize, patchSize, dim } = config;
    const grid = imageSize / patchSize;
    this.numPatches = grid * grid;
    this.patch_embed = this.registerModule(
      'patch_embed',
      new Linear(3 * patchSize * patchSize, dim, { rng }),
    );
    this.cls_token = this.registerParameter('cls_token', () =>
      init.truncatedNormal([1, 1, dim], rng, { std: 0.02 }),
    );
    this.pos_embed = this.registerParameter('pos_embed', () =>
      (config.posEmbed ?? 'learned') === 'sincos'
        ? sincos2d(dim, grid)
        : init.truncatedNormal([1, 1 + this.numPatches, dim], rng, { std: 0.02 }),
    );
    this.encoder = this.registerModule(
      'encoder',
      new Transformer({
        dim,
        heads: config.heads,
        depth: config.depth,
        mlpRatio: config.mlpRatio,
        mode: 'bidirectional',
        activation: 'gelu',
        eps: config.eps,
        fusedQkv: true,
        init: 'xavier',
        rng,
      }),
    );
  }

  /** images [N, S, S, 3] float32 in [0, 1] → cls [N, dim], patches [N, P, dim]. */
  forward(images: tf.Tensor): { cls: tf.Tensor; patches: tf.Tensor } {
    const { imageSize: s, patchSize: p, dim } = this.config;
    if (images.rank !== 4 || images.shape[1] !== s || images.shape[2] !== s || images.shape[3] !== 3) {
      throw new Error(
        `VisionTransformer: images must be [N, ${s}, ${s}, 3], got [${images.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const n = images.shape[0];
      const x = normalizeImages(images); // [N, S, S, 3]
      // Patches in (py, px, C) order, so each copied run is a patch row of p·3 floats; the weight, stored
      // in the conv kernel's (C, py, px) order, is permuted to match (dim·3·p² floats instead of the
      // images' N·S²·3, moved in runs of 1).
      const flat = patchify(x, p); // [N, P, p·p·C]
      const tokens = this.patch_embed.forward(flat, this.patchWeightHwc()); // [N, P, dim]
      const cls = tf.tile(this.cls_token, [n, 1, 1]); // [N, 1, dim]
      const seq = tf.add(tf.concat([cls, tokens], 1), this.pos_embed); // [N, 1+P, dim]
      const out = this.encoder.forward(seq); // [N, 1+P, dim] after the final norm
      return {
        cls: tf.reshape(tf.slice(out, [0, 0, 0], [n, 1, dim]), [n, dim]), // [N, dim]
        patches: tf.slice(out, [0, 1, 0], [n, this.numPatches, dim]), // [N, P, dim]
      };
    });
  }

  /**
   * patch_embed.weight [dim, C·p·p] permuted to [dim, p·p·C]. Outside training and any gradient tape the
   * permutation is a constant of the weights, so it is computed once and kept until the weight changes
   * (a new dataId on assign, or an in-place optimizer write). Owned by the ViT outside training: do not
   * dispose it.
   */
  patchWeightHwc(): tf.Tensor {
    const { patchSize: p, dim } = this.config;
    const w = this.patch_embed.weight; // [dim, C·p·p]
    const permute = () =>
      tf.reshape(tf.transpose(tf.reshape(w, [dim, 3, p * p]), [0, 2, 1]), [dim, p * p * 3]); // [dim, C, p·p] → [dim, p·p, C] → [dim, p·p·C]
    if (this.training || tapeActive()) return permute();
    const writes = inPlaceWrites();
    const kept = this.permuted;
    if (kept && kept.weight === w.dataId && kept.writes === writes && !kept.value.isDisposed)
      return kept.value;
    kept?.value.dispose();
    const value = tf.keep(permute());
    this.permuted = { weight: w.dataId, writes, value };
    return value;
  }

  protected override releaseResources(): void {
    this.permuted?.value.dispose();
    this.permuted = undefined;
  }
}

/**
 * images [N, S, S, C] → [N, (S/p)², p·p·C]: non-overlapping p×p patches in row-major order, each flattened
 * in (py, px, C) order, so every copied run is a patch row of p·C floats.
 */
export function patchify(images: tf.Tensor, p: number): tf.Tensor {
  const [n, s, , c] = images.shape;
  const g = s / p;
  return tf.tidy(() => {
    const blocks = tf.reshape(images, [n, g, p, g, p, c]); // [N, gy, py, gx, px, C]
    return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [n, g * g, p * p * c]); // [N, gy, gx, py, px, C] → [N, P, p·p·C]
  });
}

/**
 * MAE's fixed 2-D sine-cosine position table: the first dim/2 channels embed the patch column, the last
 * dim/2 its row (each a 1-D [sin | cos] table, longest period 10000); the class token's row is zero.
 * → [1, 1 + g², dim], rows in the patch order of `forward` (row-major).
 */
export function sincos2d(dim: number, g: number): tf.Tensor3D {
  if (dim % 4 !== 0) throw new Error(`sincos2d: dim must be a multiple of 4, got ${dim}`);
  return tf.tidy(() => {
    const cols: number[] = [];
    const rows: number[] = [];
    for (let r = 0; r < g; r++) {
      for (let c = 0; c < g; c++) {
        cols.push(c);
        rows.push(r);
      }
    }
    const table = tf.concat([sinusoidalEmbedding(cols, dim / 2), sinusoidalEmbedding(rows, dim / 2)], 1); // [g², dim]
    return tf.reshape(tf.concat([tf.zeros([1, dim]), table], 0), [1, 1 + g * g, dim]) as tf.Tensor3D;
  });
}
