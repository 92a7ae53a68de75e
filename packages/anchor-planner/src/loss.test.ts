import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { anchorLoss, bceWithLogits, smoothL1 } from './loss.js';

describe('smoothL1', () => {
  it('is ½x² below β and |x| − ½β above (β = 1)', () => {
    const v = tf.tidy(() => smoothL1(tf.tensor1d([0.5, -2, 1, 0])).dataSync());
    expect(Array.from(v)).toEqual([0.125, 1.5, 0.5, 0]);
  });

  it('has gradient x (inside) and sign(x) (outside)', () => {
    const v = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => tf.sum(smoothL1(x)))(tf.tensor1d([0.5, -2, 3]))
        .dataSync(),
    );
    expect(Array.from(v)).toEqual([0.5, -1, 1]);
  });
});

describe('bceWithLogits', () => {
  it('matches −y·log σ(x) − (1−y)·log(1−σ(x))', () => {
    // x = 0: log 2 for either label; x = 2, y = 1: log(1 + e^−2) = 0.126928; x = −3, y = 1: 3 + log(1 + e^−3) = 3.048587
    const v = Array.from(
      tf.tidy(() => bceWithLogits(tf.tensor1d([0, 0, 2, -3]), tf.tensor1d([0, 1, 1, 1])).dataSync()),
    );
    expect(v[0]).toBeCloseTo(Math.LN2, 6);
    expect(v[1]).toBeCloseTo(Math.LN2, 6);
    expect(v[2]).toBeCloseTo(0.126928, 5);
    expect(v[3]).toBeCloseTo(3.048587, 5);
  });
});

describe('anchorLoss (Eq. 4)', () => {
  // One chunk of H = 2 steps, D−1 = 2: arm errors [[0.5, −2], [1, 0]], logits [0, 2], labels [1, 1].
  const setup = () => ({
    pred: tf.tensor3d([0.5, -2, 1, 0], [1, 2, 2]),
    target: tf.zeros([1, 2, 2]),
    logits: tf.tensor2d([0, 2], [1, 2]),
    labels: tf.tensor2d([1, 1], [1, 2]),
  });

  it('smooth-L1 mean over H·(D−1) plus β·BCE mean over H', () => {
    const s = setup();
    // smooth-L1 = [0.125, 1.5, 0.5, 0] → mean 0.53125; BCE = [log 2, 0.126928] → mean 0.410033
    const out = anchorLoss(s.pred, s.target, s.logits, s.labels, { beta: 0.5 });
    expect(out.arm.dataSync()[0]).toBeCloseTo(0.53125, 6);
    expect(out.gripper.dataSync()[0]).toBeCloseTo((Math.LN2 + 0.126928) / 2, 5);
    expect(out.loss.dataSync()[0]).toBeCloseTo(0.53125 + 0.5 * ((Math.LN2 + 0.126928) / 2), 5);
    tf.dispose([...Object.values(s), out.loss, out.arm, out.gripper]);
  });

  it('mse and a mask over steps', () => {
    const s = setup();
    const mask = tf.tensor2d([1, 0], [1, 2]);
    // step 0 only: MSE (0.25 + 4) / 2 = 2.125; BCE log 2
    const out = anchorLoss(s.pred, s.target, s.logits, s.labels, { reconstruction: 'mse', mask });
    expect(out.arm.dataSync()[0]).toBeCloseTo(2.125, 6);
    expect(out.gripper.dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    tf.dispose([...Object.values(s), mask, out.loss, out.arm, out.gripper]);
  });

  it('rejects mismatched shapes and bad options by name', () => {
    const s = setup();
    const bad = tf.zeros([1, 3]);
    expect(() => anchorLoss(s.pred, s.target, bad, s.labels)).toThrow(/gripperLogits/);
    expect(() => anchorLoss(s.pred, s.target, s.logits, s.labels, { beta: -1 })).toThrow(/beta/);
    tf.dispose([...Object.values(s), bad]);
  });
});
