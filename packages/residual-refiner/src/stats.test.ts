import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { residualStats } from './stats.js';

describe('residualStats', () => {
  // N = 3 chunks of H = 2, D = 1, flattened: x = [3, 4], [0, 0], [0, −4].
  // norms 5, 0, 4 → mean 3.  x̄ = [1, 0]; x − x̄ = [2, 4], [−1, 0], [−1, −4]
  // → squared norms 20, 1, 17 = 38 → tr Cov = 38 / (N − 1) = 19 (unbiased), 38 / 3 (biased).
  const data = [3, 4, 0, 0, 0, -4];

  it('mean ℓ2 norm and covariance trace (unbiased by default)', () => {
    const x = tf.tensor3d(data, [3, 2, 1]);
    const s = residualStats(x);
    expect(s.count).toBe(3);
    expect(s.meanNorm).toBeCloseTo(3, 6);
    expect(s.covTrace).toBeCloseTo(19, 5);
    const b = residualStats(x, { unbiased: false });
    expect(b.covTrace).toBeCloseTo(38 / 3, 5);
    x.dispose();
  });

  it('residuals of a good anchor are more compact than raw chunks', () => {
    // Anchor = raw − small noise → R = noise: both statistics shrink.
    const raw = tf.tensor3d(data, [3, 2, 1]);
    const anc = tf.tensor3d([2.9, 4.1, 0.1, 0, 0, -3.9], [3, 2, 1]);
    const r = tf.sub(raw, anc);
    const sRaw = residualStats(raw);
    const sRes = residualStats(r);
    expect(sRes.meanNorm).toBeLessThan(sRaw.meanNorm);
    expect(sRes.covTrace).toBeLessThan(sRaw.covTrace);
    tf.dispose([raw, anc, r]);
  });

  it('validates its input', () => {
    const one = tf.zeros([1, 2, 1]);
    const flat = tf.zeros([3]);
    expect(() => residualStats(one)).toThrow(/at least 2 chunks, got shape \[1, 2, 1\]/);
    expect(residualStats(one, { unbiased: false }).covTrace).toBe(0);
    expect(() => residualStats(flat)).toThrow(/rank ≥ 2/);
    tf.dispose([one, flat]);
  });
});
