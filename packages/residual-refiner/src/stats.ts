import { shapeText } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';

export interface ResidualStats {
  /** number of chunks N */
  count: number;
  /** (1/N) Σ_n ||x_n||₂ over flattened chunks x_n ∈ R^{H·D} */
  meanNorm: number;
  /** tr Cov(x) = (1/(N−ddof)) Σ_n ||x_n − x̄||² (the sum of per-coordinate variances) */
  covTrace: number;
}

export interface ResidualStatsOptions {
  /** true (default): divide by N − 1 like `np.cov` / `torch.cov`; false: by N. */
  unbiased?: boolean;
}

/**
 * Residual-compactness diagnostic: for chunks `[N, H, D]` (any rank ≥ 2, first axis = chunk), flatten
 * each chunk to `H·D` values and report the mean ℓ2 norm and the trace of the empirical covariance.
 * Run it on raw action chunks A^arm and on residual targets R over the same data to compare.
 */
export function residualStats(
  chunks: tf.Tensor,
  { unbiased = true }: ResidualStatsOptions = {},
): ResidualStats {
  const n = chunks.shape[0];
  if (chunks.rank < 2) {
    throw new Error(
      `residualStats: chunks must be [N, H, D] (rank ≥ 2), got shape ${shapeText(chunks.shape)}`,
    );
  }
  if (n < (unbiased ? 2 : 1)) {
    throw new Error(
      `residualStats: need at least ${unbiased ? 2 : 1} chunks, got shape ${shapeText(chunks.shape)}`,
    );
  }
  const [meanNorm, covTrace] = tf.tidy(() => {
    const x = tf.reshape(tf.cast(chunks, 'float32'), [n, -1]);
    const norms = tf.sqrt(tf.sum(tf.square(x), 1));
    const dev = tf.sub(x, tf.mean(x, 0, true));
    const trace = tf.div(tf.sum(tf.square(dev)), unbiased ? n - 1 : n);
    return [tf.mean(norms).dataSync()[0], trace.dataSync()[0]];
  });
  return { count: n, meanNorm, covTrace };
}
