/**
 * Language encoder E_l: a CLIP-style text transformer (causal, pooled at the end-of-text token, then a
 * bias-free projection). With the `paper` shapes it is OpenAI CLIP ViT-B/32's text tower.
 */
import { Embedding, init, Module, type Rng, Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { Gr1TextConfig } from './config.js';

export class TextEncoder extends Module {
  readonly token_embedding: Embedding;
  readonly positional_embedding: tf.Variable;
  readonly transformer: Transformer;
  readonly text_projection: tf.Variable;

  constructor(
    readonly config: Gr1TextConfig,
    rng: Rng,
  ) {
    super();
    const { vocabSize, contextLength, width } = config;
    this.token_embedding = this.registerModule(
      'token_embedding',
      new Embedding(vocabSize, width, { rng, weightInit: (s, r) => init.normal(s, r, { std: 0.02 }) }),
    );
    this.positional_embedding = this.registerParameter('positional_embedding', () =>
      init.normal([contextLength, width], rng, { std: 0.01 }),
    );
    this.transformer = this.registerModule(
      'transformer',
      new Transformer({
        dim: width,
        heads: config.heads,
        depth: config.layers,
        mode: 'causal',
        activation: config.activation,
        fusedQkv: true,
        rng,
      }),
    );
    this.text_projection = this.registerParameter('text_projection', () =>
      init.normal([width, config.outDim], rng, { std: width ** -0.5 }),
    );
  }

  /** ids [B, T] int32 (end-of-text = the largest id in each row) → [B, outDim] */
  forward(ids: tf.Tensor): tf.Tensor {
    const { contextLength, width } = this.config;
    if (ids.rank !== 2 || ids.shape[1] !== contextLength) {
      throw new Error(`TextEncoder: ids must be [B, ${contextLength}], got [${ids.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const b = ids.shape[0];
      const x = tf.add(this.token_embedding.forward(ids), this.positional_embedding); // [B, T, w]
      const h = this.transformer.forward(x); // [B, T, w] (ln_final applied)
      const eot = tf.argMax(ids, 1); // [B] position of the end-of-text token
      const rows = tf.cast(
        tf.add(tf.mul(tf.range(0, b, 1, 'int32'), contextLength), tf.cast(eot, 'int32')),
        'int32',
      ); // [B]
      const pooled = tf.gather(tf.reshape(h, [b * contextLength, width]), rows); // [B, w]
      return tf.matMul(pooled, this.text_projection); // [B, outDim]
    });
  }
}
