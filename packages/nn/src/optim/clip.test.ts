import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradScale } from './clip.js';
import { gradsByParamName } from './grads.js';

function values(m: Map<string, tf.Tensor>, name: string): number[] {
  return Array.from(m.get(name)!.dataSync());
}

describe('clipGradNorm', () => {
  it('scales all gradients by maxNorm / (norm + eps) when the global norm exceeds maxNorm', () => {
    // ‖[3, 4]‖² = 25, ‖[12]‖² = 144 → total norm √169 = 13; coef = 6.5 / (13 + 1e-6) ≈ 0.5
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const res = clipGradNorm(grads, 6.5);
    expect(res.totalNorm).toBeCloseTo(13, 5);
    expect(res.clipped).toBe(true);
    expect(values(res.grads, 'a')[0]).toBeCloseTo(1.5, 5);
    expect(values(res.grads, 'a')[1]).toBeCloseTo(2, 5);
    expect(values(res.grads, 'b')[0]).toBeCloseTo(6, 5);
    expect(Array.from(grads.a.dataSync())).toEqual([3, 4]); // inputs untouched
    tf.dispose([...res.grads.values(), grads.a, grads.b]);
  });

  it('returns unscaled copies (new tensors) when under maxNorm', () => {
    const grads = new Map([['w', tf.tensor2d([1, 2, 2, 0], [2, 2])]]); // norm 3
    const res = clipGradNorm(grads, 20);
    expect(res.totalNorm).toBeCloseTo(3, 6);
    expect(res.clipped).toBe(false);
    expect(res.grads.get('w')).not.toBe(grads.get('w'));
    expect(values(res.grads, 'w')).toEqual([1, 2, 2, 0]);
    tf.dispose([...res.grads.values(), ...grads.values()]);
  });

  it('handles a non-finite norm: error naming the gradient, or skip', () => {
    const grads = { ok: tf.tensor1d([1]), bad: tf.tensor1d([Number.NaN, 1]) };
    expect(() => clipGradNorm(grads, 1)).toThrow(
      'clipGradNorm: total gradient norm is NaN; non-finite gradients: "bad"',
    );
    const res = clipGradNorm(grads, 1, { onNonFinite: 'skip' });
    expect(res.skipped).toBe(true);
    expect(res.grads.size).toBe(0);
    expect(Number.isNaN(res.totalNorm)).toBe(true);
    expect(() => clipGradNorm(grads, 0)).toThrow('clipGradNorm: maxNorm must be a finite number > 0 (got 0)');
    tf.dispose([grads.ok, grads.bad]);
  });

  it('works on tf.variableGrads output re-keyed by parameter name', () => {
    const inits = [tf.zeros([2]), tf.zeros([1])];
    const w = tf.variable(inits[0]);
    const frozen = tf.variable(inits[1], false);
    const x = tf.tensor1d([3, 4]);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(w.add(x).square().add(frozen.sum())) as tf.Scalar,
      [w],
    );
    const named = gradsByParamName(
      [
        ['layer.w', w],
        ['layer.frozen', frozen],
      ],
      grads,
    );
    expect([...named.keys()]).toEqual(['layer.w']); // d/dw Σ(w + x)² = 2(w + x) = [6, 8], norm 10
    const res = clipGradNorm(named, 5);
    expect(res.totalNorm).toBeCloseTo(10, 5);
    expect(Array.from(res.grads.get('layer.w')!.dataSync()).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([
      3, 4,
    ]);
    tf.dispose([...inits, value, x, w, frozen, ...Object.values(grads), ...res.grads.values()]);
  });
});

describe('clipGradScale', () => {
  it("gives clipGradNorm's coefficient without making tensors (hand-computed: norm 13, maxNorm 6.5)", () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const before = tf.memory().numTensors;
    const res = clipGradScale(grads, 6.5);
    expect(tf.memory().numTensors).toBe(before);
    expect(res.totalNorm).toBeCloseTo(13, 5);
    expect(res.clipped).toBe(true);
    expect(res.scale).toBe(6.5 / (res.totalNorm + 1e-6)); // torch's maxNorm / (norm + eps)
    expect(res.scale).toBeCloseTo(0.5, 6);
    const under = clipGradScale(grads, 20); // 13 < 20: nothing to clip, scale exactly 1
    expect(under).toEqual({ scale: 1, totalNorm: res.totalNorm, clipped: false, skipped: false });
    tf.dispose([grads.a, grads.b]);
  });

  it('skip on a non-finite norm gives scale 0 and skipped; error names the gradient', () => {
    const grads = { ok: tf.tensor1d([1]), bad: tf.tensor1d([Number.POSITIVE_INFINITY]) };
    const res = clipGradScale(grads, 1, { onNonFinite: 'skip' });
    expect(res.skipped).toBe(true);
    expect(res.scale).toBe(0);
    expect(() => clipGradScale(grads, 1)).toThrow('non-finite gradients: "bad"');
    tf.dispose([grads.ok, grads.bad]);
  });
});
