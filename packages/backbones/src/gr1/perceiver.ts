/**
 * Perceiver resampler (Flamingo variant, as GR-1 uses it): a few learned latents cross-attend to the
 * patch tokens — keys and values are the patches *and* the latents — then a feed-forward; a final norm.
 * Turns P patch tokens into numLatents tokens per image.
 */

import { fusedAttention } from '@anchor-refine/core-tensors';
import { gelu, init, LayerNorm, Linear, Module, ModuleList, type Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { Gr1ResamplerConfig } from './config.js';

class PerceiverAttention extends Module {
  readonly norm_media: LayerNorm;
  readonly norm_latents: LayerNorm;
  readonly to_q: Linear;
  readonly to_kv: Linear;
  readonly to_out: Linear;
  private readonly inner: number;

  constructor(
    dim: number,
    private readonly heads: number,
    private readonly dimHead: number,
    rng: Rng,
  ) {
    super();
    this.inner = heads * dimHead;
    this.norm_media = this.registerModule('norm_media', new LayerNorm(dim));
    this.norm_latents = this.registerModule('norm_latents', new LayerNorm(dim));
    this.to_q = this.registerModule('to_q', new Linear(dim, this.inner, { bias: false, rng }));
    this.to_kv = this.registerModule('to_kv', new Linear(dim, 2 * this.inner, { bias: false, rng }));
    this.to_out = this.registerModule('to_out', new Linear(this.inner, dim, { bias: false, rng }));
  }

  /** [N, T, inner] → [N, T, h, dh] (a view: fusedAttention's 'bthd' layout reads the heads in place) */
  private heads4(t: tf.Tensor): tf.Tensor4D {
    const [n, len] = t.shape;
    return tf.reshape(t, [n, len, this.heads, this.dimHead]) as tf.Tensor4D; // [N, T, inner] → [N, T, h, dh]
  }

  /** media [N, P, dim], latents [N, K, dim] → [N, K, dim] */
  forward(media: tf.Tensor, latents: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [n, k] = latents.shape;
      const x = this.norm_media.forward(media);
      const l = this.norm_latents.forward(latents);
      const q = this.to_q.forward(l); // [N, K, inner]
      const [kk, vv] = tf.split(this.to_kv.forward(tf.concat([x, l], 1)), 2, -1); // 2 × [N, P+K, inner]
      const out = fusedAttention(this.heads4(q), this.heads4(kk), this.heads4(vv), {
        scale: this.dimHead ** -0.5,
        layout: 'bthd',
      }); // [N, K, h, dh]
      const merged = tf.reshape(out, [n, k, this.inner]); // [N, K, h, dh] → [N, K, inner]
      return this.to_out.forward(merged);
    });
  }
}

class PerceiverFeedForward extends Module {
  readonly norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(dim: number, mult: number, rng: Rng) {
    super();
    this.norm = this.registerModule('norm', new LayerNorm(dim));
    this.fc1 = this.registerModule('fc1', new Linear(dim, dim * mult, { bias: false, rng }));
    this.fc2 = this.registerModule('fc2', new Linear(dim * mult, dim, { bias: false, rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.fc2.forward(gelu(this.fc1.forward(this.norm.forward(x)))));
  }
}

class PerceiverLayer extends Module {
  readonly attn: PerceiverAttention;
  readonly ff: PerceiverFeedForward;
  constructor(dim: number, cfg: Gr1ResamplerConfig, rng: Rng) {
    super();
    this.attn = this.registerModule('attn', new PerceiverAttention(dim, cfg.heads, cfg.dimHead, rng));
    this.ff = this.registerModule('ff', new PerceiverFeedForward(dim, cfg.ffMult, rng));
  }
}

export class PerceiverResampler extends Module {
  readonly latents: tf.Variable;
  readonly media_pos_emb: tf.Variable;
  readonly layers: ModuleList<PerceiverLayer>;
  readonly norm: LayerNorm;

  constructor(
    readonly dim: number,
    readonly config: Gr1ResamplerConfig,
    rng: Rng,
  ) {
    super();
    this.latents = this.registerParameter('latents', () => init.normal([config.numLatents, dim], rng));
    this.media_pos_emb = this.registerParameter('media_pos_emb', () => init.normal([1, 1, dim], rng));
    this.layers = this.registerModule('layers', new ModuleList<PerceiverLayer>());
    for (let i = 0; i < config.depth; i++) this.layers.push(new PerceiverLayer(dim, config, rng));
    this.norm = this.registerModule('norm', new LayerNorm(dim));
  }

  /** patches [N, P, dim] → [N, numLatents, dim] */
  forward(patches: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const n = patches.shape[0];
      const x = tf.add(patches, this.media_pos_emb); // [N, P, dim] (+ the single media position)
      let l: tf.Tensor = tf.tile(tf.expandDims(this.latents, 0), [n, 1, 1]); // [N, K, dim]
      for (const layer of this.layers) {
        l = tf.add(layer.attn.forward(x, l), l);
        l = tf.add(layer.ff.forward(l), l);
      }
      return this.norm.forward(l);
    });
  }
}
