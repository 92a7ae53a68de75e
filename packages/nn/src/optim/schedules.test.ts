import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineWithWarmup, linearWarmup, linearWarmupDecay } from './schedules.js';

describe('learning-rate schedules', () => {
  it('cosineWithWarmup: linear warmup from 0, cosine to minLr, constant after totalSteps', () => {
    const lr = cosineWithWarmup({ peakLr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 });
    expect(lr(0)).toBe(0);
    expect(lr(5)).toBeCloseTo(5e-4, 12); // 1e-3 · 5/10
    expect(lr(10)).toBeCloseTo(1e-3, 12); // peak
    // progress 0.25: 1e-4 + 9e-4 · 0.5 · (1 + cos(π/4)) = 1e-4 + 4.5e-4 · 1.7071067812 = 8.6819805e-4
    expect(lr(35)).toBeCloseTo(8.6819805e-4, 10);
    expect(lr(60)).toBeCloseTo(5.5e-4, 12); // progress 0.5: midpoint 1e-4 + 4.5e-4
    expect(lr(110)).toBeCloseTo(1e-4, 12);
    expect(lr(10_000)).toBe(1e-4);
  });

  it('constantSchedule, with and without warmup', () => {
    const flat = constantSchedule(3e-4);
    expect(flat(0)).toBe(3e-4);
    expect(flat(1000)).toBe(3e-4);
    const warm = constantSchedule(3e-4, { warmupSteps: 4 });
    expect(warm(0)).toBe(0);
    expect(warm(1)).toBeCloseTo(7.5e-5, 15); // 3e-4 / 4
    expect(warm(4)).toBe(3e-4);
    expect(warm(100)).toBe(3e-4);
  });

  it('linearWarmup and linearWarmupDecay', () => {
    const warm = linearWarmup({ peakLr: 2, warmupSteps: 4 });
    expect([0, 1, 3, 4, 9].map(warm)).toEqual([0, 0.5, 1.5, 2, 2]);
    const decay = linearWarmupDecay({ peakLr: 1, warmupSteps: 2, totalSteps: 12, endLr: 0.2 });
    expect(decay(1)).toBe(0.5);
    expect(decay(2)).toBe(1);
    expect(decay(7)).toBeCloseTo(0.6, 12); // halfway: 0.2 + 0.8·0.5
    expect(decay(12)).toBe(0.2);
    expect(decay(50)).toBe(0.2);
  });

  it('validates configs and steps with messages naming the field', () => {
    expect(() => cosineWithWarmup({ peakLr: 1, warmupSteps: 10, totalSteps: 10 })).toThrow(
      'cosineWithWarmup: totalSteps (10) must be greater than warmupSteps (10)',
    );
    expect(() => cosineWithWarmup({ peakLr: 1, warmupSteps: 0, totalSteps: 10, minLr: 2 })).toThrow(
      'cosineWithWarmup: minLr (2) must be <= peakLr (1)',
    );
    expect(() => linearWarmup({ peakLr: 1, warmupSteps: 2.5 })).toThrow(
      'linearWarmup: warmupSteps must be an integer >= 0 (got 2.5)',
    );
    expect(() => constantSchedule(Number.NaN)).toThrow('constantSchedule: lr must be a finite number >= 0');
    expect(() => linearWarmupDecay({ peakLr: -1, warmupSteps: 0, totalSteps: 5 })).toThrow(
      'linearWarmupDecay: peakLr must be',
    );
    const lr = cosineWithWarmup({ peakLr: 1, warmupSteps: 1, totalSteps: 5 });
    expect(() => lr(-1)).toThrow('cosineWithWarmup: step must be an integer >= 0 (got -1)');
    expect(() => lr(0.5)).toThrow('step must be an integer');
  });
});
