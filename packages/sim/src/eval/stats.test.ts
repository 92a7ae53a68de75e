import { describe, expect, it } from 'vitest';
import { exactMcNemar } from './stats.js';

describe('exactMcNemar', () => {
  it('matches hand-computed binomial tails', () => {
    // 6 discordant pairs all one way: 2 · (1/2)^6 = 0.03125
    expect(exactMcNemar(6, 0)).toBeCloseTo(0.03125, 12);
    expect(exactMcNemar(0, 6)).toBeCloseTo(0.03125, 12);
    // b = 5, c = 2: 2 · (C(7,0) + C(7,1) + C(7,2)) / 2^7 = 2 · 29/128
    expect(exactMcNemar(5, 2)).toBeCloseTo(58 / 128, 12);
    // a balanced split is capped at 1
    expect(exactMcNemar(3, 3)).toBe(1);
    expect(exactMcNemar(0, 0)).toBe(1);
  });

  it('stays finite for hundreds of pairs', () => {
    // 2 · P[X ≤ 100] for X ~ Bin(300, 1/2): far in the tail, but a normal-approx sanity band holds
    const p = exactMcNemar(200, 100);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-7);
  });

  it('refuses non-counts', () => {
    expect(() => exactMcNemar(-1, 2)).toThrow(/b must be/);
    expect(() => exactMcNemar(1, 2.5)).toThrow(/c must be/);
  });
});
