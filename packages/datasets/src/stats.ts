import { DatasetError } from './errors.js';

/** Quantiles LeRobot ≥0.4 stores (`DEFAULT_QUANTILES`). */
export const QUANTILES = [
  ['q01', 0.01],
  ['q10', 0.1],
  ['q50', 0.5],
  ['q90', 0.9],
  ['q99', 0.99],
] as const;
export type QuantileKey = (typeof QUANTILES)[number][0];

/**
 * Statistics of one feature, flattened to one value per element of the feature (images: one per channel).
 * `count` is the number of frames (LeRobot stores it as `[N]`).
 */
export interface FeatureStats {
  min: number[];
  max: number[];
  mean: number[];
  std: number[];
  count: number;
  q01?: number[];
  q10?: number[];
  q50?: number[];
  q90?: number[];
  q99?: number[];
}

export type DatasetStats = Record<string, FeatureStats>;

/** numpy-style linear-interpolation quantile of a sorted array. */
function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Exact stats of an `[n, d]` row-major block: per column min, max, mean, population std (ddof 0, as numpy
 * and LeRobot), and the five quantiles.
 */
export function computeStats(values: ArrayLike<number>, n: number, d: number): FeatureStats {
  if (values.length !== n * d) throw new Error(`computeStats: ${values.length} values for [${n}, ${d}]`);
  const stats: FeatureStats = { min: [], max: [], mean: [], std: [], count: n };
  const qs: Record<QuantileKey, number[]> = { q01: [], q10: [], q50: [], q90: [], q99: [] };
  const col = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i * d + j];
      col[i] = v;
      sum += v;
    }
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (col[i] - mean) ** 2;
    col.sort();
    stats.min.push(col[0]);
    stats.max.push(col[n - 1]);
    stats.mean.push(mean);
    stats.std.push(Math.sqrt(ss / n));
    for (const [k, q] of QUANTILES) qs[k].push(quantileSorted(col, q));
  }
  Object.assign(stats, qs);
  return stats;
}

/** Per-channel 256-bin histograms of RGB uint8 pixels; exact image stats without sorting. */
export class ImageHistogram {
  readonly counts = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  frames = 0;

  add(rgb: Uint8Array): void {
    const [r, g, b] = this.counts;
    for (let i = 0; i < rgb.length; i += 3) {
      r[rgb[i]]++;
      g[rgb[i + 1]]++;
      b[rgb[i + 2]]++;
    }
    this.frames++;
  }

  /** Stats in [0, 1] per channel (LeRobot's image stats are per channel, shape (3,1,1)); count = frames. */
  stats(): FeatureStats {
    const s: FeatureStats = { min: [], max: [], mean: [], std: [], count: this.frames };
    const qs: Record<QuantileKey, number[]> = { q01: [], q10: [], q50: [], q90: [], q99: [] };
    for (const h of this.counts) {
      let n = 0;
      let sum = 0;
      for (let v = 0; v < 256; v++) {
        n += h[v];
        sum += v * h[v];
      }
      const mean = sum / n;
      let ss = 0;
      for (let v = 0; v < 256; v++) ss += h[v] * (v - mean) ** 2;
      // value at sorted rank r (0-based)
      const at = (r: number) => {
        let cum = 0;
        for (let v = 0; v < 256; v++) {
          cum += h[v];
          if (cum > r) return v;
        }
        return 255;
      };
      s.min.push(at(0) / 255);
      s.max.push(at(n - 1) / 255);
      s.mean.push(mean / 255);
      s.std.push(Math.sqrt(ss / n) / 255);
      for (const [k, q] of QUANTILES) {
        const pos = q * (n - 1);
        const lo = Math.floor(pos);
        const a = at(lo);
        const b = at(Math.min(lo + 1, n - 1));
        qs[k].push((a + (b - a) * (pos - lo)) / 255);
      }
    }
    Object.assign(s, qs);
    return s;
  }
}

/** Per-channel stats of RGB uint8 frames in [0, 1], exact over every pixel; `count` is the number of frames. */
export function computeImageStats(frames: readonly Uint8Array[]): FeatureStats {
  const h = new ImageHistogram();
  for (const f of frames) h.add(f);
  return h.stats();
}

/**
 * Merges per-episode stats like LeRobot `aggregate_feature_stats`: count-weighted mean, pooled variance
 * Σc(σ²+(μ−μ̄)²)/Σc, element-wise min/max, and the conservative quantile envelope (min over episodes for
 * q ≤ 0.5, max for q > 0.5 — not a true global quantile).
 */
export function aggregateStats(parts: readonly FeatureStats[]): FeatureStats {
  if (parts.length === 0) throw new Error('aggregateStats: nothing to aggregate');
  const d = parts[0].mean.length;
  const total = parts.reduce((s, p) => s + p.count, 0);
  const out: FeatureStats = { min: [], max: [], mean: [], std: [], count: total };
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (const p of parts) mean += (p.count / total) * p.mean[j];
    let v = 0;
    for (const p of parts) v += p.count * (p.std[j] ** 2 + (p.mean[j] - mean) ** 2);
    out.mean.push(mean);
    out.std.push(Math.sqrt(v / total));
    out.min.push(Math.min(...parts.map((p) => p.min[j])));
    out.max.push(Math.max(...parts.map((p) => p.max[j])));
  }
  for (const [k, q] of QUANTILES) {
    if (!parts.every((p) => p[k] !== undefined)) continue;
    const pick = q <= 0.5 ? Math.min : Math.max;
    out[k] = Array.from({ length: d }, (_, j) => pick(...parts.map((p) => (p[k] as number[])[j])));
  }
  return out;
}

export function aggregateDatasetStats(episodes: readonly DatasetStats[]): DatasetStats {
  const keys = new Set<string>();
  for (const e of episodes) for (const k of Object.keys(e)) keys.add(k);
  const out: DatasetStats = {};
  for (const k of keys) {
    const parts = episodes.map((e) => e[k]).filter((s): s is FeatureStats => s !== undefined);
    out[k] = aggregateStats(parts);
  }
  return out;
}

function flattenDeep(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flatMap(flattenDeep);
  throw new Error('not a number or array');
}

const STAT_KEYS = ['min', 'max', 'mean', 'std', 'q01', 'q10', 'q50', 'q90', 'q99'] as const;

/** Parses one feature's stats from JSON (nested arrays for images are flattened). */
export function parseFeatureStats(raw: unknown, file: string, field: string): FeatureStats {
  if (raw === null || typeof raw !== 'object') throw new DatasetError(file, field, 'must be an object');
  const r = raw as Record<string, unknown>;
  const out: Partial<FeatureStats> = {};
  for (const k of STAT_KEYS) {
    if (r[k] === undefined) {
      if (k === 'min' || k === 'max' || k === 'mean' || k === 'std') {
        throw new DatasetError(file, `${field}.${k}`, 'is missing');
      }
      continue;
    }
    try {
      out[k] = flattenDeep(r[k]);
    } catch {
      throw new DatasetError(file, `${field}.${k}`, 'must be a number or nested array of numbers');
    }
  }
  const d = (out.mean as number[]).length;
  for (const k of STAT_KEYS) {
    const v = out[k];
    if (v !== undefined && v.length !== d) {
      throw new DatasetError(file, `${field}.${k}`, `has ${v.length} values but mean has ${d}`);
    }
  }
  const c = r.count;
  const count = Array.isArray(c) ? Number(c[0]) : c === undefined ? 0 : Number(c);
  if (!Number.isFinite(count)) throw new DatasetError(file, `${field}.count`, 'must be a number or [number]');
  return { ...(out as FeatureStats), count };
}

export function parseDatasetStats(raw: unknown, file: string, field = ''): DatasetStats {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DatasetError(file, field || '(root)', 'must be an object mapping feature keys to stats');
  }
  const out: DatasetStats = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    out[k] = parseFeatureStats(v, file, field ? `${field}.${k}` : k);
  }
  return out;
}

/** JSON form of stats: arrays shaped like the feature (images (3,1,1)), `count` as `[N]`. */
export function statsToJson(stats: FeatureStats, visual: boolean): Record<string, unknown> {
  const shape = (a: number[]) => (visual ? a.map((v) => [[v]]) : a);
  const out: Record<string, unknown> = {};
  for (const k of STAT_KEYS) {
    const v = stats[k];
    if (v !== undefined) out[k] = shape(v);
  }
  out.count = [stats.count];
  return out;
}
