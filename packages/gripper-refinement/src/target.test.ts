import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gripperCorrectionTarget, gripperDirection } from './target.js';

const logit = (p: number): number => Math.log(p / (1 - p));
// p = σ(λ) = [[0.3, 0.8], [0.5, 0.45]]; labels y = [[1, 0], [0, 0]].
const P = [0.3, 0.8, 0.5, 0.45];
const LOGITS = [logit(0.3), logit(0.8), 0, logit(0.45)];
const LABELS = [1, 0, 0, 0];

function expectClose(actual: number[], expected: number[], digits = 6): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(a).toBeCloseTo(expected[i], digits);
  });
}

describe('gripperDirection (Eq. 8)', () => {
  it('is +1 for a missed close, −1 for a wrong close (p = 0.5 counts as closed), 0 when right', () => {
    // k=0: y=1, p=0.3 < 0.5 → +1.  k=1: y=0, p=0.8 ≥ 0.5 → −1.
    // k=2: y=0, p=0.5 ≥ 0.5 → −1 (boundary is closed).  k=3: y=0, p=0.45 → already open → 0.
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const y = tf.tensor2d(LABELS, [2, 2], 'int32');
    const d = gripperDirection(lg, y);
    expect(d.shape).toEqual([2, 2]);
    expect(d.dtype).toBe('float32');
    expect(Array.from(d.dataSync())).toEqual([1, -1, -1, 0]);
    tf.dispose([lg, y, d]);
  });

  it('is 0 for y=1 with p ≥ 0.5 and accepts bool labels', () => {
    // p = [0.5, 0.9], y = [1, 1] → anchor already closed → [0, 0].
    const lg = tf.tensor2d([0, logit(0.9)], [1, 2]);
    const y = tf.tensor2d([[true, true]], [1, 2], 'bool');
    const d = gripperDirection(lg, y);
    expect(Array.from(d.dataSync())).toEqual([0, 0]);
    tf.dispose([lg, y, d]);
  });
});

describe('gripperCorrectionTarget (Eq. 9)', () => {
  it('is d·(|p − 0.5| + m) with m = 0.1', () => {
    // δ* = [+1·(0.2+0.1), −1·(0.3+0.1), −1·(0+0.1), 0·(0.05+0.1)] = [0.3, −0.4, −0.1, 0].
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const y = tf.tensor2d(LABELS, [2, 2]);
    const t = gripperCorrectionTarget(lg, y);
    expectClose(Array.from(t.dataSync()), [0.3, -0.4, -0.1, 0]);
    tf.dispose([lg, y, t]);
  });

  it('lands p + δ* exactly m past 0.5 on the label side', () => {
    // m = 0.2: δ* = [0.4, −0.5, −0.2, 0] → p + δ* = [0.7, 0.3, 0.3, 0.45]
    // i.e. 0.5 + m for y=1, 0.5 − m for corrected y=0; the already-right step stays at p.
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const y = tf.tensor2d(LABELS, [2, 2]);
    const t = gripperCorrectionTarget(lg, y, 0.2);
    const v = Array.from(t.dataSync());
    expectClose(v, [0.4, -0.5, -0.2, 0]);
    expectClose(
      v.map((x, i) => P[i] + x),
      [0.7, 0.3, 0.3, 0.45],
    );
    tf.dispose([lg, y, t]);
  });

  it('sends no gradient to the logits (stop-gradient inside)', () => {
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const y = tf.tensor2d(LABELS, [2, 2]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(gripperCorrectionTarget(x, y)))(lg);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([lg, y, g]);
  });

  it('validates shapes, labels and margin, naming the argument', () => {
    const lg = tf.tensor2d(LOGITS, [2, 2]);
    const y = tf.tensor2d(LABELS, [2, 2]);
    const y14 = tf.tensor2d(LABELS, [1, 4]);
    const bad = tf.tensor2d([1, 0, 0.5, 0], [2, 2]);
    const flat = tf.tensor1d(LOGITS);
    expect(() => gripperCorrectionTarget(lg, y14)).toThrow(
      /labels shape \[1, 4\] must equal anchorLogits shape \[2, 2\]/,
    );
    expect(() => gripperCorrectionTarget(flat, y)).toThrow(/anchorLogits must be \[B, H\].*\[4\]/);
    expect(() => gripperCorrectionTarget(lg, bad)).toThrow(
      /labels must be in \{0, 1\}.*0\.5 at flat index 2/,
    );
    expect(() => gripperDirection(lg, bad)).toThrow(/gripperDirection: labels/);
    expect(() => gripperCorrectionTarget(lg, y, 0)).toThrow(/margin must be a finite number > 0, got 0/);
    expect(() => gripperCorrectionTarget(lg, y, -0.1)).toThrow(/margin/);
    expect(() => gripperCorrectionTarget(lg, y, Number.NaN)).toThrow(/margin/);
    tf.dispose([lg, y, y14, bad, flat]);
  });
});
