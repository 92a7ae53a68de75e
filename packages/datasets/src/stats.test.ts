import { describe, expect, it } from 'vitest';
import { GripperMapping } from './gripper.js';
import { createNormalizer, Normalizer } from './normalize.js';
import { aggregateStats, computeImageStats, computeStats, parseDatasetStats, statsToJson } from './stats.js';

describe('computeStats', () => {
  it('per-column min/max/mean/std (ddof 0) and numpy-linear quantiles', () => {
    // column 0: 1..5, column 1: constant 7
    const s = computeStats([1, 7, 2, 7, 3, 7, 4, 7, 5, 7], 5, 2);
    expect(s.min).toEqual([1, 7]);
    expect(s.max).toEqual([5, 7]);
    expect(s.mean).toEqual([3, 7]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(2), 12);
    expect(s.std[1]).toBe(0);
    expect(s.q50).toEqual([3, 7]);
    expect(s.q01?.[0]).toBeCloseTo(1.04, 12); // pos 0.04 between 1 and 2
    expect(s.q99?.[0]).toBeCloseTo(4.96, 12);
    expect(s.q10?.[0]).toBeCloseTo(1.4, 12);
    expect(s.count).toBe(5);
  });

  it('image stats per channel in [0, 1]', () => {
    const f = new Uint8Array([0, 255, 51, 255, 255, 51]);
    const s = computeImageStats([f]);
    expect(s.mean).toEqual([0.5, 1, 0.2]);
    expect(s.std[0]).toBeCloseTo(0.5, 12);
    expect(s.count).toBe(1);
    expect(statsToJson(s, true).mean).toEqual([[[0.5]], [[1]], [[0.2]]]);
  });
});

describe('aggregateStats (LeRobot rules)', () => {
  it('count-weighted mean, pooled variance, min/max, quantile envelope', () => {
    const a = computeStats([0, 1, 2], 3, 1);
    const b = computeStats([10, 12], 2, 1);
    const m = aggregateStats([a, b]);
    const all = computeStats([0, 1, 2, 10, 12], 5, 1);
    expect(m.count).toBe(5);
    expect(m.mean[0]).toBeCloseTo(all.mean[0], 12); // 5
    expect(m.std[0]).toBeCloseTo(all.std[0], 12); // pooled variance is exact
    expect([m.min[0], m.max[0]]).toEqual([0, 12]);
    expect(m.q01?.[0]).toBe(Math.min(a.q01?.[0] as number, b.q01?.[0] as number));
    expect(m.q99?.[0]).toBe(Math.max(a.q99?.[0] as number, b.q99?.[0] as number));
    expect(m.q50?.[0]).toBe(1); // envelope: min of the episode medians (1 and 11), not the true median 2
  });

  it('parses stats json and rejects mismatched lengths with the field', () => {
    expect(
      parseDatasetStats({ a: { mean: [1], std: [2], min: [0], max: [3], count: [4] } }, 'f').a.count,
    ).toBe(4);
    expect(() =>
      parseDatasetStats({ a: { mean: [1, 2], std: [2], min: [0, 0], max: [3, 3] } }, 'meta/stats.json'),
    ).toThrow('meta/stats.json: a.std: has 1 values but mean has 2');
  });
});

describe('Normalizer', () => {
  const stats = {
    action: {
      mean: [1, -2],
      std: [2, 0.5],
      min: [-3, -4],
      max: [5, 0],
      q01: [-1, -3],
      q99: [3, -1],
      count: 10,
    },
  };
  it('mean_std: (x − mean)/(std + eps)', () => {
    const n = createNormalizer(stats, 'action', 'mean_std', 2);
    const y = n.normalize([3, -1, 1, -2]);
    expect(y[0]).toBeCloseTo(1, 6);
    expect(y[1]).toBeCloseTo(2, 6);
    expect(y[2]).toBe(0);
  });
  it('quantile: q01 → −1, q99 → +1, round trip, JSON round trip', () => {
    const n = createNormalizer(stats, 'action', 'quantile', 2);
    expect(Array.from(n.normalize([-1, -3, 3, -1, 1, -2]))).toEqual([-1, -1, 1, 1, 0, 0]);
    const x = [0.25, -1.5];
    expect(Array.from(n.unnormalize(n.normalize(x))).map((v) => Math.round(v * 1e6) / 1e6)).toEqual(x);
    const m = Normalizer.fromJSON(JSON.parse(JSON.stringify(n)));
    expect(Array.from(m.normalize([3, -1]))).toEqual([1, 1]);
  });
  it('min_max and identity', () => {
    expect(Array.from(createNormalizer(stats, 'action', 'min_max', 2).normalize([5, -4]))).toEqual([1, -1]);
    expect(Array.from(createNormalizer({}, 'action', 'identity', 2).normalize([5, -4]))).toEqual([5, -4]);
  });
  it('missing stats name the feature and the fix', () => {
    expect(() => createNormalizer({}, 'observation.state', 'mean_std', 2)).toThrow(
      /normalization.observation.state: .*meta\/stats.json has none.*'identity'/,
    );
  });
});

describe('GripperMapping', () => {
  it('LIBERO: −1 open / +1 close', () => {
    const g = new GripperMapping({ convention: 'closed-positive' });
    expect([g.toBinary(-1), g.toBinary(1), g.toBinary(0), g.toBinary(0.3)]).toEqual([0, 1, 0, 1]);
    expect([g.fromBinary(1), g.fromBinary(0), g.fromBinary(0.7)]).toEqual([1, -1, 1]);
  });
  it('CALVIN: −1 close / +1 open', () => {
    const g = new GripperMapping({ convention: 'open-positive' });
    expect([g.toBinary(-1), g.toBinary(1)]).toEqual([1, 0]);
    expect([g.fromBinary(1), g.fromBinary(0)]).toEqual([-1, 1]);
  });
  it('SO-101 gripper.pos 0 closed … 100 open, threshold 50; sim 0/1 commands', () => {
    const g = new GripperMapping({ convention: 'open-positive', values: { open: 100, closed: 0 } });
    expect(g.threshold).toBe(50);
    expect([g.toBinary(10), g.toBinary(80)]).toEqual([1, 0]);
    expect(g.fromBinary(1)).toBe(0);
    const z = new GripperMapping({ convention: 'zero-one', threshold: 0.2 });
    expect([z.toBinary(0), z.toBinary(0.25), z.fromBinary(1)]).toEqual([0, 1, 1]);
    expect(
      () => new GripperMapping({ convention: 'closed-positive', values: { open: 1, closed: -1 } }),
    ).toThrow(/gripper.values/);
  });
});
