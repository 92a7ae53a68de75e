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

  it('tells a good anchor from a bad one: hand-computed residual statistics of both', () => {
    // Chunks from two modes m₁ = [3, 4], m₂ = [0, −4] plus offsets d = ±0.1 (H = 2, D = 1):
    // x = [3.1, 4], [2.9, 4], [0, −3.9], [0, −4.1].
    const raw = tf.tensor3d([3.1, 4, 2.9, 4, 0, -3.9, 0, -4.1], [4, 2, 1]);
    // Good anchor = the chunk's own mode (what a trained anchor predicts) → R = d.
    const good = tf.tensor3d([3, 4, 3, 4, 0, -4, 0, -4], [4, 2, 1]);
    // Bad anchor = the other mode → R = [3.1, 8], [2.9, 8], [−3, −7.9], [−3, −8.1].
    const bad = tf.tensor3d([0, -4, 0, -4, 3, 4, 3, 4], [4, 2, 1]);
    const [rGood, rBad] = [tf.sub(raw, good), tf.sub(raw, bad)];
    const sRaw = residualStats(raw);
    const sGood = residualStats(rGood);
    const sBad = residualStats(rBad);
    // raw: norms √25.61, √24.41, 3.9, 4.1; x̄ = [1.5, 0] → Σ||x − x̄||² = 18.56 + 17.96 + 17.46 + 19.06 = 73.04
    expect(sRaw.meanNorm).toBeCloseTo((Math.sqrt(25.61) + Math.sqrt(24.41) + 8) / 4, 5);
    expect(sRaw.covTrace).toBeCloseTo(73.04 / 3, 4);
    // good: every ||d|| = 0.1, d̄ = 0 → tr Cov = 4 · 0.01 / 3
    expect(sGood.meanNorm).toBeCloseTo(0.1, 5);
    expect(sGood.covTrace).toBeCloseTo(0.04 / 3, 5);
    // bad: norms √73.61, √72.41, √71.41, √74.61; R̄ = [0, 0] → Σ||R||² = 292.04
    expect(sBad.meanNorm).toBeCloseTo(
      (Math.sqrt(73.61) + Math.sqrt(72.41) + Math.sqrt(71.41) + Math.sqrt(74.61)) / 4,
      4,
    );
    expect(sBad.covTrace).toBeCloseTo(292.04 / 3, 3);
    // so the diagnostic separates them: compact for the good anchor, less compact than raw for the bad one
    expect(sGood.meanNorm < sRaw.meanNorm && sRaw.meanNorm < sBad.meanNorm).toBe(true);
    expect(sGood.covTrace < sRaw.covTrace && sRaw.covTrace < sBad.covTrace).toBe(true);
    tf.dispose([raw, good, bad, rGood, rBad]);
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
