import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { SGD } from './sgd.js';

/** A variable owning its data: tf.variable() leaves the initial tensor alive, so dispose it here. */
function variable(initial: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}

describe('SGD', () => {
  it('applies momentum like torch.optim.SGD (buffer seeded with the first gradient)', () => {
    // lr = 0.1, momentum = 0.9, p0 = 1, g = 1 each step:
    // t=1: buf = 1;          p = 1 − 0.1·1 = 0.9
    // t=2: buf = 0.9 + 1 = 1.9; p = 0.9 − 0.19 = 0.71
    const w = variable(tf.scalar(1));
    const opt = new SGD([['w', w]], { lr: 0.1, momentum: 0.9 });
    const g = { w: tf.scalar(1) };
    opt.step(g);
    expect(w.dataSync()[0]).toBeCloseTo(0.9, 6);
    opt.step(g);
    expect(w.dataSync()[0]).toBeCloseTo(0.71, 6);
    const sd = opt.stateDict();
    expect(sd.get('momentum_buffer/w')!.dataSync()[0]).toBeCloseTo(1.9, 6);
    tf.dispose([...sd.values(), g.w, w]);
    opt.dispose();
  });

  it('plain SGD with coupled L2 weight decay', () => {
    // g' = g + wd·p = 0.5 + 0.1·2 = 0.7; p = 2 − 0.5·0.7 = 1.65
    const w = variable(tf.scalar(2));
    const opt = new SGD([['w', w]], { lr: 0.5, weightDecay: 0.1 });
    const g = { w: tf.scalar(0.5) };
    opt.step(g);
    expect(w.dataSync()[0]).toBeCloseTo(1.65, 6);
    expect(() => new SGD([['w', w]], { lr: 0.1, nesterov: true })).toThrow(
      'SGD: nesterov requires momentum > 0',
    );
    tf.dispose([g.w, w]);
    opt.dispose();
  });
});
