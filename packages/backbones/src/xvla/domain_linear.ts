/**
 * DomainAwareLinear (research/xvla.md §1.3): one weight and bias per domain, gathered by `domain_id`.
 * Names as upstream: `fc.weight` [domains, in·out] (each row viewed as [in, out], the transpose of a
 * torch Linear) and `bias.weight` [domains, out].
 */
import { Embedding, init, Module, type Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';

export interface DomainLinearOptions {
  rng: Rng;
  /** Std of a normal weight init instead of xavier (near-zero output layers). */
  weightStd?: number;
}

export class DomainAwareLinear extends Module {
  readonly fc: Embedding;
  readonly bias: Embedding;

  constructor(
    readonly domains: number,
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: DomainLinearOptions,
  ) {
    super();
    const std = opts.weightStd;
    // xavier on the whole [domains, in·out] table, as upstream's scratch init; zero bias
    const weightInit =
      std === undefined
        ? (s: readonly number[], r: Rng) => init.xavierUniform(s, r)
        : (s: readonly number[], r: Rng) => init.normal(s, r, { std });
    this.fc = this.registerModule(
      'fc',
      new Embedding(domains, inFeatures * outFeatures, { rng: opts.rng, weightInit }),
    );
    this.bias = this.registerModule(
      'bias',
      new Embedding(domains, outFeatures, { rng: opts.rng, weightInit: (s) => init.zeros(s) }),
    );
  }

  /** x [B, T, in], domain [B] int32 → [B, T, out] = x·W_d + b_d */
  forward(x: tf.Tensor, domain: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inFeatures) {
      throw new Error(`DomainAwareLinear: x must be [B, T, ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const b = x.shape[0];
      const w = tf.reshape(this.fc.forward(domain), [b, this.inFeatures, this.outFeatures]); // [B, in·out] → [B, in, out]
      const bias = tf.reshape(this.bias.forward(domain), [b, 1, this.outFeatures]); // [B, 1, out]
      return tf.add(tf.matMul(x, w), bias); // [B, T, in]·[B, in, out] = [B, T, out]
    });
  }
}
