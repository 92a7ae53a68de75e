/**
 * Vision-language encoders behind one interface (research/xvla.md §1.2). The main view and the instruction
 * are encoded jointly (Florence-2: DaViT → projector → BART encoder); auxiliary views get the projector only.
 *
 * `SmallVlEncoder` (tiny / small presets) keeps that data flow with small parts: the GR-1 ViT over each
 * view ([CLS ; patches], CLS playing Florence's pooled token), `image_projection` + `image_proj_norm`, and
 * a bidirectional joint transformer over [main-view tokens ; text embeddings + positions].
 */
import { Embedding, init, LayerNorm, Linear, Module, type Rng, Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { VisionTransformer } from '../gr1/vit.js';
import type { XvlaSmallVlConfig } from './config.js';

export type VlFeatures = {
  /** [B, Nv, dim]: main view + text after the joint encoder */
  vlm: tf.Tensor;
  /** [B, Na, dim]: projected tokens of views 1…V−1 (zeros where the view mask is false) */
  aux: tf.Tensor;
};

export interface VisionLanguageEncoder extends Module {
  /** Output width. */
  readonly dim: number;
  /**
   * images [B, V, S, S, 3] float32 in [0, 1], viewMask [B, V] bool (true = real view), ids [B, T] int32.
   */
  encode(images: tf.Tensor, viewMask: tf.Tensor, ids: tf.Tensor): VlFeatures;
}

export class SmallVlEncoder extends Module implements VisionLanguageEncoder {
  readonly dim: number;
  readonly vision_tower: VisionTransformer;
  readonly image_projection: Linear;
  readonly image_proj_norm: LayerNorm;
  readonly shared: Embedding;
  readonly embed_positions: tf.Variable;
  readonly encoder: Transformer;

  constructor(
    readonly config: XvlaSmallVlConfig,
    vocabSize: number,
    rng: Rng,
  ) {
    super();
    const c = config;
    this.dim = c.dim;
    this.vision_tower = this.registerModule(
      'vision_tower',
      new VisionTransformer(
        {
          imageSize: c.imageSize,
          patchSize: c.patchSize,
          dim: c.visionDim,
          depth: c.visionDepth,
          heads: c.visionHeads,
          mlpRatio: 4,
          eps: 1e-6,
          frozen: c.frozen,
        },
        rng,
      ),
    );
    this.image_projection = this.registerModule(
      'image_projection',
      new Linear(c.visionDim, c.dim, { bias: false, rng }),
    );
    this.image_proj_norm = this.registerModule('image_proj_norm', new LayerNorm(c.dim));
    this.shared = this.registerModule(
      'shared',
      new Embedding(vocabSize, c.dim, { rng, weightInit: (s, r) => init.normal(s, r, { std: 0.02 }) }),
    );
    const perView = (c.imageSize / c.patchSize) ** 2 + 1;
    this.embed_positions = this.registerParameter('embed_positions', () =>
      init.normal([perView + c.contextLength, c.dim], rng, { std: 0.02 }),
    );
    this.encoder = this.registerModule(
      'encoder',
      new Transformer({
        dim: c.dim,
        heads: c.textHeads,
        depth: c.textDepth,
        mode: 'bidirectional',
        fusedQkv: true,
        init: 'xavier',
        rng,
      }),
    );
  }

  /** images [N, S, S, 3] → projected view tokens [N, 1+P, dim] */
  private viewTokens(images: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { cls, patches } = this.vision_tower.forward(images); // [N, dv], [N, P, dv]
      const seq = tf.concat([tf.expandDims(cls, 1), patches], 1); // [N, 1+P, dv]
      return this.image_proj_norm.forward(this.image_projection.forward(seq)); // [N, 1+P, dim]
    });
  }

  encode(images: tf.Tensor, viewMask: tf.Tensor, ids: tf.Tensor): VlFeatures {
    const c = this.config;
    const s = c.imageSize;
    if (images.rank !== 5 || images.shape[2] !== s || images.shape[3] !== s || images.shape[4] !== 3) {
      throw new Error(
        `SmallVlEncoder: images must be [B, V, ${s}, ${s}, 3], got [${images.shape.join(', ')}]`,
      );
    }
    if (ids.rank !== 2 || ids.shape[1] !== c.contextLength) {
      throw new Error(`SmallVlEncoder: ids must be [B, ${c.contextLength}], got [${ids.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const [b, v] = images.shape;
      const all = this.viewTokens(tf.reshape(images, [b * v, s, s, 3])); // [B·V, 1+P, dim]
      const n = all.shape[1] ?? 0;
      const keep = tf.reshape(tf.cast(viewMask, 'float32'), [b, v, 1, 1]); // padded views → zero features
      const views = tf.mul(tf.reshape(all, [b, v, n, c.dim]), keep); // [B, V, 1+P, dim]
      const main = tf.reshape(tf.slice(views, [0, 0, 0, 0], [b, 1, n, c.dim]), [b, n, c.dim]); // [B, 1+P, dim]
      const text = this.shared.forward(ids); // [B, T, dim]
      const joint = tf.add(tf.concat([main, text], 1), this.embed_positions); // [B, 1+P+T, dim]
      const vlm = this.encoder.forward(joint); // no mask: text padding is attended, as upstream
      const aux = tf.reshape(tf.slice(views, [0, 1, 0, 0], [b, v - 1, n, c.dim]), [b, (v - 1) * n, c.dim]); // [B, (V−1)·(1+P), dim]
      return { vlm, aux };
    });
  }
}
