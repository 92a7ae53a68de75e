/** Dropout with seeded masks: the same Rng state gives the same mask on every run and backend. */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.js';
import { defaultRng, type Rng } from '../random.js';

export class Dropout extends Module {
  private readonly rng: Rng;

  constructor(
    readonly p: number,
    opts: { rng?: Rng } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.rng = opts.rng ?? defaultRng();
  }

  /** Training: zero each element with probability p and scale survivors by 1/(1−p). Eval: identity. */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return tf.zerosLike(x);
    // tf.randomUniform fills on the CPU from its seed (backend independent); seed 0 would mean "unseeded".
    const seed = (this.rng.nextUint32() >>> 1) + 1;
    return tf.tidy(() => {
      const keep = tf.cast(
        tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.p),
        'float32',
      );
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.p)));
    });
  }
}
