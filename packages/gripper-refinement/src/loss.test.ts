import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type GripperVariant, gripperLoss } from './loss.js';

const logit = (p: number): number => Math.log(p / (1 - p));
// p = [[0.3, 0.8], [0.5, 0.45]], y = [[1, 0], [0, 0]] → δ*(m = 0.1) = [[0.3, −0.4], [−0.1, 0]].
const LOGITS = [logit(0.3), logit(0.8), 0, logit(0.45)];
const LABELS = [1, 0, 0, 0];
// Chosen prediction δ̂.
const DELTA = [0.2, -0.4, 0.1, 0.1];

function setup(): { dp: tf.Tensor2D; lg: tf.Tensor2D; y: tf.Tensor2D } {
  return {
    dp: tf.tensor2d(DELTA, [2, 2]),
    lg: tf.tensor2d(LOGITS, [2, 2]),
    y: tf.tensor2d(LABELS, [2, 2]),
  };
}

describe('gripperLoss (Eq. 10)', () => {
  it('decision-aware: mean (δ̂ − δ*)²', () => {
    // δ̂ − δ* = [−0.1, 0, 0.2, 0.1] → squares [0.01, 0, 0.04, 0.01] → sum 0.06 → mean 0.015.
    const { dp, lg, y } = setup();
    const l = gripperLoss(dp, lg, y);
    expect(l.rank).toBe(0);
    expect(l.dataSync()[0]).toBeCloseTo(0.015, 6);
    tf.dispose([dp, lg, y, l]);
  });

  it('with a mask averages the valid steps only', () => {
    // squares [0.01, 0, 0.04, 0.01]; mask [[1, 0], [1, 0]] → (0.01 + 0.04) / 2 = 0.025.
    const { dp, lg, y } = setup();
    const mask = tf.tensor2d([1, 0, 1, 0], [2, 2]);
    const l = gripperLoss(dp, lg, y, 0.1, { mask });
    expect(l.dataSync()[0]).toBeCloseTo(0.025, 6);
    const bad = tf.tensor2d([1, 0], [1, 2]);
    expect(() => gripperLoss(dp, lg, y, 0.1, { mask: bad })).toThrow(/mask/);
    tf.dispose([dp, lg, y, l, mask, bad]);
  });

  it('is zero when δ̂ = δ*', () => {
    const { dp: unused, lg, y } = setup();
    const dp = tf.tensor2d([0.3, -0.4, -0.1, 0], [2, 2]);
    const l = gripperLoss(dp, lg, y);
    expect(l.dataSync()[0]).toBeCloseTo(0, 7);
    tf.dispose([unused, dp, lg, y, l]);
  });

  it('naive-mse: target y − p', () => {
    // y − p = [0.7, −0.8, −0.5, −0.45]; δ̂ − (y − p) = [−0.5, 0.4, 0.6, 0.55]
    // squares [0.25, 0.16, 0.36, 0.3025] → sum 1.0725 → mean 0.268125.
    const { dp, lg, y } = setup();
    const l = gripperLoss(dp, lg, y, 0.1, { variant: 'naive-mse' });
    expect(l.dataSync()[0]).toBeCloseTo(0.268125, 6);
    tf.dispose([dp, lg, y, l]);
  });

  it("'none' is a scalar 0", () => {
    const { dp, lg, y } = setup();
    const l = gripperLoss(dp, lg, y, 0.1, { variant: 'none' });
    expect(l.rank).toBe(0);
    expect(l.dataSync()[0]).toBe(0);
    tf.dispose([dp, lg, y, l]);
  });

  it.each<GripperVariant>(['decision-aware', 'naive-mse'])(
    '%s: gradient is 2(δ̂ − δ*)/N to deltaPred and exactly 0 to the logits',
    (variant) => {
      const { dp, lg, y } = setup();
      // decision-aware: 2·[−0.1, 0, 0.2, 0.1]/4 = [−0.05, 0, 0.1, 0.05]
      // naive-mse:      2·[−0.5, 0.4, 0.6, 0.55]/4 = [−0.25, 0.2, 0.3, 0.275]
      const expected = variant === 'naive-mse' ? [-0.25, 0.2, 0.3, 0.275] : [-0.05, 0, 0.1, 0.05];
      const [gd, gl] = tf.grads((a: tf.Tensor, b: tf.Tensor) => gripperLoss(a, b, y, 0.1, { variant }))([
        dp,
        lg,
      ]);
      Array.from(gd.dataSync()).forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i], 6);
      });
      expect(Array.from(gl.dataSync())).toEqual([0, 0, 0, 0]);
      tf.dispose([dp, lg, y, gd, gl]);
    },
  );

  it('validates deltaPred shape, labels, margin and variant', () => {
    const { dp, lg, y } = setup();
    const dp14 = tf.tensor2d(DELTA, [1, 4]);
    const y2 = tf.tensor2d([1, 0, 2, 0], [2, 2]);
    expect(() => gripperLoss(dp14, lg, y)).toThrow(
      /gripperLoss: deltaPred shape \[1, 4\] must equal anchorLogits shape \[2, 2\]/,
    );
    expect(() => gripperLoss(dp, lg, y2)).toThrow(/gripperLoss: labels must be in \{0, 1\}.*got 2/);
    expect(() => gripperLoss(dp, lg, y, 0)).toThrow(/gripperLoss: margin/);
    expect(() => gripperLoss(dp, lg, y, 0.1, { variant: 'bce' as GripperVariant })).toThrow(
      /unknown variant 'bce'/,
    );
    tf.dispose([dp, lg, y, dp14, y2]);
  });
});
