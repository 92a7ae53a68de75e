import { describe, expect, it } from 'vitest';
import { defaultRng, manualSeed, Rng } from './random.js';

describe('Rng', () => {
  it('repeats its sequence for the same seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('draws uniforms in [0, 1) and normals with mean ≈ 0, std ≈ 1', () => {
    const r = new Rng(1);
    const u = r.fillUniform(20000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const n = r.fillNormal(20000);
    const mean = n.reduce((s, x) => s + x, 0) / n.length;
    const std = Math.sqrt(n.reduce((s, x) => s + (x - mean) ** 2, 0) / n.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
  });

  it('manualSeed resets the default generator', () => {
    manualSeed(7);
    const x = defaultRng().uniform();
    manualSeed(7);
    expect(defaultRng().uniform()).toBe(x);
  });

  it('forks independent but reproducible children', () => {
    const a = new Rng(3).fork();
    const b = new Rng(3).fork();
    expect(a.uniform()).toBe(b.uniform());
  });
});
