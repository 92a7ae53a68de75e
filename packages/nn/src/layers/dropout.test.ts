import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Dropout } from './dropout.js';

describe('Dropout', () => {
  it('zeros about p of the elements, scales survivors by 1/(1−p), and is identity in eval', () => {
    const d = new Dropout(0.25, { rng: new Rng(0) });
    const x = tf.ones([4000]);
    const y = d.forward(x);
    const v = y.dataSync();
    const zeros = v.filter((e) => e === 0).length;
    expect(zeros / v.length).toBeGreaterThan(0.2);
    expect(zeros / v.length).toBeLessThan(0.3);
    expect(v.every((e) => e === 0 || Math.abs(e - 4 / 3) < 1e-6)).toBe(true);
    d.eval();
    expect(d.forward(x)).toBe(x);
    tf.dispose([x, y]);
    d.dispose();
  });

  it('draws the same mask for the same seed', () => {
    const x = tf.ones([64]);
    const a = new Dropout(0.5, { rng: new Rng(11) }).forward(x);
    const b = new Dropout(0.5, { rng: new Rng(11) }).forward(x);
    const c = new Dropout(0.5, { rng: new Rng(12) }).forward(x);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([x, a, b, c]);
  });
});
