import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { EMA_UPDATES_KEY, Ema } from './ema.js';

function variable(values: number[]): tf.Variable {
  const init = tf.tensor1d(values);
  const v = tf.variable(init);
  init.dispose();
  return v;
}

describe('Ema', () => {
  it('follows ē ← d_t·ē + (1 − d_t)·θ with d_t = min(decay, (1 + t)/(10 + t)) (hand-computed)', () => {
    const before = tf.memory().numTensors;
    const w = variable([0, 10]);
    const ema = new Ema([['w', w]], { decay: 0.5 });
    // t = 0: d = min(0.5, 1/10) = 0.1; θ = [1, 20] → ē = 0.1·[0, 10] + 0.9·[1, 20] = [0.9, 19]
    expect(ema.currentDecay()).toBeCloseTo(0.1, 12);
    tf.tidy(() => w.assign(tf.tensor1d([1, 20])));
    ema.update();
    expect(Array.from(ema.get('w').dataSync())).toEqual([expect.closeTo(0.9, 6), expect.closeTo(19, 5)]);
    // t = 1: d = min(0.5, 2/11) = 0.181818…; θ = [3, 20] → ē = 0.181818·0.9 + 0.818182·3 = 2.618182
    expect(ema.currentDecay()).toBeCloseTo(2 / 11, 12);
    tf.tidy(() => w.assign(tf.tensor1d([3, 20])));
    ema.update();
    expect(ema.get('w').dataSync()[0]).toBeCloseTo((2 / 11) * 0.9 + (9 / 11) * 3, 5);
    // far along the cap holds: t = 100 → min(0.5, 101/110) = 0.5
    for (let i = 0; i < 98; i++) ema.update();
    expect(ema.steps).toBe(100);
    expect(ema.currentDecay()).toBe(0.5);
    // θ stays what training made it until copyToParams
    expect(w.dataSync()[0]).toBe(3);
    ema.copyToParams();
    expect(w.dataSync()[0]).toBeCloseTo(ema.get('w').dataSync()[0], 7);
    ema.dispose();
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stateDict round-trips the average and the update count; bad states are refused by name', () => {
    const before = tf.memory().numTensors;
    const w = variable([1, 2, 3]);
    const a = new Ema([['w', w]], { decay: 0.9 });
    tf.tidy(() => w.assign(tf.tensor1d([4, 5, 6])));
    a.update();
    a.update();
    const sd = a.stateDict();
    const b = new Ema([['w', w]], { decay: 0.9 });
    b.loadStateDict(sd);
    expect(b.steps).toBe(2);
    expect(Array.from(b.get('w').dataSync())).toEqual(Array.from(a.get('w').dataSync()));
    // the next update is the same on both
    a.update();
    b.update();
    expect(Array.from(b.get('w').dataSync())).toEqual(Array.from(a.get('w').dataSync()));

    const missing = new Map([[EMA_UPDATES_KEY, sd.get(EMA_UPDATES_KEY) as tf.Tensor]]);
    expect(() => b.loadStateDict(missing)).toThrow(/parameter 'w' is missing/);
    const wrong = tf.zeros([2]);
    expect(() => b.loadStateDict(new Map([...sd, ['w', wrong]]))).toThrow(/'w' has shape \[2\]/);
    const noCount = new Map([['w', sd.get('w') as tf.Tensor]]);
    expect(() => b.loadStateDict(noCount)).toThrow(/ema.updates/);
    tf.dispose([...sd.values(), wrong]);
    a.dispose();
    b.dispose();
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates decay', () => {
    const w = variable([1]);
    expect(() => new Ema([['w', w]], { decay: 1 })).toThrow(/decay must be in \[0, 1\)/);
    expect(() => new Ema([['w', w]], { decay: -0.1 })).toThrow(/decay/);
    w.dispose();
  });
});
