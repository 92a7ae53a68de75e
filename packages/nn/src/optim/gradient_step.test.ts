import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gradientStep } from './gradient_step.js';
import { SGD } from './sgd.js';

function variable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

describe('gradientStep', () => {
  it('differentiates, clips the global norm and updates, by hand', () => {
    // loss = Σ w² at w = [3, 4]: value 25, gradient 2w = [6, 8], norm 10.
    // clipNorm 5 → scale 0.5; SGD lr 0.1: w = [3 − 0.1·3, 4 − 0.1·4] = [2.7, 3.6]
    const w = variable(tf.tensor1d([3, 4]));
    const u = variable(tf.scalar(1)); // not in `named`: no gradient, no update
    const opt = new SGD([['w', w]], { lr: 0.1 });
    const before = tf.memory().numTensors;
    const r = gradientStep(() => tf.add(tf.sum(tf.square(w)), u), [['w', w]], opt, { clipNorm: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.loss).toBeCloseTo(26, 5);
    expect(r.gradNorm).toBeCloseTo(10, 5);
    const got = Array.from(w.dataSync());
    expect(got[0]).toBeCloseTo(2.7, 5);
    expect(got[1]).toBeCloseTo(3.6, 5);
    expect(u.dataSync()[0]).toBe(1);
    // no clipping: the full gradient at lr 0.5 on loss = w² (w = 2.7 → 2.7 − 0.5·5.4 = 0)
    const v = variable(tf.scalar(2.7));
    const opt2 = new SGD([['v', v]], { lr: 0.1 });
    const r2 = gradientStep(() => tf.square(v) as tf.Scalar, [['v', v]], opt2, { clipNorm: null, lr: 0.5 });
    expect(r2.gradNorm).toBeCloseTo(5.4, 5);
    expect(v.dataSync()[0]).toBeCloseTo(0, 5);
    opt.dispose();
    opt2.dispose();
    tf.dispose([w, u, v]);
  });
});
