/**
 * Fixed sinusoidal embeddings of (possibly fractional) positions or timesteps.
 *
 * freq_i = maxPeriod^(−i/half), i = 0 … half−1, half = ⌊dim/2⌋, arg = position · freq_i.
 *   classic Transformer: sin first, maxPeriod 10000   → sinusoidalEmbedding(p, d)
 *   Vaswani interleaved sin/cos pairs                   → { interleave: true }
 *   DiT / X-VLA timestep embedding: cos first, 100    → { cosFirst: true, maxPeriod: 100 }
 * An odd dim gets a trailing zero column (as DiT).
 */
import * as tf from '@tensorflow/tfjs';

export interface SinusoidalOptions {
  /** 10000: the original Transformer's longest wavelength (X-VLA's timestep embedding uses 100). */
  maxPeriod?: number;
  /** false: [sin | cos]; true: [cos | sin] (DiT / X-VLA order). */
  cosFirst?: boolean;
  /** false: the two halves are concatenated; true: pairs are interleaved (first₀, second₀, first₁, …). */
  interleave?: boolean;
}

/** positions [N] (tensor or numbers) → [N, dim] float32. */
export function sinusoidalEmbedding(
  positions: tf.Tensor | readonly number[],
  dim: number,
  opts: SinusoidalOptions = {},
): tf.Tensor2D {
  const { maxPeriod = 10000, cosFirst = false, interleave = false } = opts;
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(maxPeriod) * i) / half);
  return tf.tidy(() => {
    const pos = positions instanceof tf.Tensor ? tf.cast(positions, 'float32') : tf.tensor1d([...positions]);
    const n = pos.size;
    const args = tf.mul(tf.reshape(pos, [n, 1]), tf.tensor2d(freqs, [1, half])); // [N, half]
    const first = cosFirst ? tf.cos(args) : tf.sin(args);
    const second = cosFirst ? tf.sin(args) : tf.cos(args);
    let emb = interleave
      ? tf.reshape(tf.stack([first, second], -1), [n, 2 * half]) // [N, half, 2] → [N, 2·half]
      : tf.concat([first, second], -1); // [N, 2·half]
    if (dim % 2) emb = tf.concat([emb, tf.zeros([n, 1])], -1); // [N, dim]
    return emb as tf.Tensor2D;
  });
}
