import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  fans,
  kaimingUniform,
  normal,
  residualStd,
  truncatedNormal,
  xavierNormal,
  xavierUniform,
} from './init.js';
import { Rng } from './random.js';

function stats(t: tf.Tensor): { min: number; max: number; mean: number; std: number } {
  const v = t.dataSync();
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { min: Math.min(...v), max: Math.max(...v), mean, std: Math.sqrt(q / v.length) };
}

describe('init', () => {
  it('computes PyTorch fans for [out, in, ...receptive]', () => {
    expect(fans([8, 4])).toEqual({ fanIn: 4, fanOut: 8 });
    expect(fans([8, 4, 3, 3])).toEqual({ fanIn: 36, fanOut: 72 });
    expect(fans([5])).toEqual({ fanIn: 5, fanOut: 5 });
  });

  it('kaimingUniform with a=√5 is U(±1/√fanIn) (nn.Linear default)', () => {
    const w = kaimingUniform([64, 100], new Rng(0));
    const s = stats(w);
    expect(s.max).toBeLessThanOrEqual(0.1);
    expect(s.min).toBeGreaterThanOrEqual(-0.1);
    expect(s.max).toBeGreaterThan(0.095);
    w.dispose();
  });

  it('xavier uniform / normal have the Glorot scale', () => {
    const u = xavierUniform([200, 300], new Rng(0));
    const n = xavierNormal([200, 300], new Rng(0));
    const bound = Math.sqrt(6 / 500);
    expect(stats(u).max).toBeLessThanOrEqual(bound);
    expect(stats(u).std).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(stats(n).std).toBeCloseTo(Math.sqrt(2 / 500), 3);
    tf.dispose([u, n]);
  });

  it('truncatedNormal stays within ±2σ by default and honours absolute bounds', () => {
    const t = truncatedNormal([10000], new Rng(0), { std: 0.02 });
    const s = stats(t);
    expect(s.min).toBeGreaterThanOrEqual(-0.04);
    expect(s.max).toBeLessThanOrEqual(0.04);
    // Truncating N(0,1) at ±2 leaves std ≈ 0.8796.
    expect(s.std / 0.02).toBeCloseTo(0.88, 1);
    const b = truncatedNormal([1000], new Rng(0), { std: 1, a: 0, b: 0.5 });
    expect(stats(b).min).toBeGreaterThanOrEqual(0);
    expect(stats(b).max).toBeLessThanOrEqual(0.5);
    tf.dispose([t, b]);
  });

  it('gives bit-identical values for the same seed', () => {
    const a = normal([4, 5], new Rng(9), { std: 0.02 });
    const b = normal([4, 5], new Rng(9), { std: 0.02 });
    const c = normal([4, 5], new Rng(10), { std: 0.02 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  it('residualStd is std/√(2·nLayers)', () => {
    expect(residualStd(0.02, 8)).toBeCloseTo(0.005, 10);
  });
});
