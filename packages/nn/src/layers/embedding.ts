/** Lookup tables: token Embedding and LearnedPositionalEmbedding (both a `weight` [num, dim]). */
import * as tf from '@tensorflow/tfjs';
import { type Initializer, normal } from '../init.js';
import { Module } from '../module.js';
import { defaultRng, type Rng } from '../random.js';

export interface EmbeddingOptions {
  /** Default N(0, 1), PyTorch nn.Embedding's init. */
  weightInit?: Initializer;
  rng?: Rng;
}

export class Embedding extends Module {
  /** [num, dim] */
  readonly weight: tf.Variable;

  constructor(
    readonly num: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    const init = opts.weightInit ?? ((s, r) => normal(s, r));
    const rng = opts.rng ?? defaultRng();
    this.weight = this.registerParameter('weight', () => init([num, dim], rng));
  }

  /** ids [...] (integers in [0, num)) → [..., dim]; the gradient reaches the rows that were gathered. */
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.reshape(ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), [-1]); // [N]
      const rows = tf.gather(this.weight, flat); // [N, dim]
      return tf.reshape(rows, [...ids.shape, this.dim]); // [..., dim]
    });
  }
}

export interface LearnedPositionalEmbeddingOptions {
  /** Default N(0, 0.02²): GPT-2's wpe / ViT pos_embed scale, small next to unit-variance tokens. */
  weightInit?: Initializer;
  rng?: Rng;
}

/** A learned table of `maxLen` position vectors; forward(T, offset) returns rows offset … offset+T−1. */
export class LearnedPositionalEmbedding extends Module {
  /** [maxLen, dim] */
  readonly weight: tf.Variable;

  constructor(
    readonly maxLen: number,
    readonly dim: number,
    opts: LearnedPositionalEmbeddingOptions = {},
  ) {
    super();
    const init = opts.weightInit ?? ((s, r) => normal(s, r, { std: 0.02 }));
    const rng = opts.rng ?? defaultRng();
    this.weight = this.registerParameter('weight', () => init([maxLen, dim], rng));
  }

  /** → [length, dim]; add to x [B, length, dim] by broadcasting. */
  forward(length: number, offset = 0): tf.Tensor {
    if (offset < 0 || offset + length > this.maxLen) {
      throw new RangeError(
        `LearnedPositionalEmbedding: positions ${offset}..${offset + length - 1} exceed maxLen ${this.maxLen}`,
      );
    }
    return tf.slice(this.weight, [offset, 0], [length, this.dim]); // [length, dim]
  }
}
