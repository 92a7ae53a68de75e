import { ConfigError } from './errors.js';
import type { DatasetStats } from './stats.js';

/** `mean_std`: (x−mean)/(std+eps); `quantile`: q01→−1, q99→+1; `min_max`: min→−1, max→+1; `identity`. */
export type NormMode = 'mean_std' | 'quantile' | 'min_max' | 'identity';
export const NORM_MODES: readonly NormMode[] = ['mean_std', 'quantile', 'min_max', 'identity'];

/** LeRobot's epsilon (`normalize_processor.py`). */
export const NORM_EPS = 1e-8;

export interface NormalizerJson {
  key: string;
  mode: NormMode;
  offset: number[];
  scale: number[];
}

/**
 * Per-channel affine normalizer y = (x − offset)·scale, built from dataset stats with LeRobot's formulas.
 * Serialisable (`toJSON`) so a policy checkpoint can carry the exact transform used in training.
 */
export class Normalizer {
  private readonly offset: Float64Array;
  private readonly scale: Float64Array;

  constructor(
    readonly key: string,
    readonly mode: NormMode,
    offset: ArrayLike<number>,
    scale: ArrayLike<number>,
  ) {
    if (offset.length !== scale.length) throw new Error(`Normalizer(${key}): offset/scale length mismatch`);
    this.offset = Float64Array.from(offset);
    this.scale = Float64Array.from(scale);
  }

  get dim(): number {
    return this.offset.length;
  }

  /** Normalizes `x` (any number of rows of `dim` channels) into `out` (new Float32Array by default). */
  normalize(x: ArrayLike<number>, out: Float32Array = new Float32Array(x.length)): Float32Array {
    const d = this.dim;
    if (x.length % d !== 0)
      throw new Error(`normalize(${this.key}): ${x.length} values are not rows of ${d}`);
    for (let i = 0; i < x.length; i++) {
      const c = i % d;
      out[i] = (x[i] - this.offset[c]) * this.scale[c];
    }
    return out;
  }

  /** Inverse of `normalize`. */
  unnormalize(y: ArrayLike<number>, out: Float32Array = new Float32Array(y.length)): Float32Array {
    const d = this.dim;
    if (y.length % d !== 0)
      throw new Error(`unnormalize(${this.key}): ${y.length} values are not rows of ${d}`);
    for (let i = 0; i < y.length; i++) {
      const c = i % d;
      out[i] = y[i] / this.scale[c] + this.offset[c];
    }
    return out;
  }

  toJSON(): NormalizerJson {
    return { key: this.key, mode: this.mode, offset: Array.from(this.offset), scale: Array.from(this.scale) };
  }

  static fromJSON(j: NormalizerJson): Normalizer {
    return new Normalizer(j.key, j.mode, j.offset, j.scale);
  }
}

/**
 * Builds the normalizer of one feature. Missing stats are an error that names the feature and the fix
 * (LeRobot silently passes such features through; here only an explicit `identity` does).
 */
export function createNormalizer(
  stats: DatasetStats,
  key: string,
  mode: NormMode,
  dim: number,
  eps = NORM_EPS,
): Normalizer {
  if (!NORM_MODES.includes(mode)) {
    throw new ConfigError(
      `normalization.${key}`,
      `mode ${JSON.stringify(mode)} is not one of ${NORM_MODES.join(', ')}`,
    );
  }
  if (mode === 'identity')
    return new Normalizer(key, mode, new Float64Array(dim), new Float64Array(dim).fill(1));
  const s = stats[key];
  if (!s) {
    throw new ConfigError(
      `normalization.${key}`,
      `needs stats for ${key} but meta/stats.json has none; recompute stats (computeDatasetStats) or use 'identity'`,
    );
  }
  const need =
    mode === 'mean_std'
      ? (['mean', 'std'] as const)
      : mode === 'quantile'
        ? (['q01', 'q99'] as const)
        : (['min', 'max'] as const);
  const a = s[need[0]];
  const b = s[need[1]];
  if (!a || !b) {
    throw new ConfigError(
      `normalization.${key}`,
      `mode '${mode}' needs ${need.join('/')} stats, which this dataset lacks (v2.1 stats have no quantiles); ` +
        `use 'mean_std', or recompute stats with computeDatasetStats`,
    );
  }
  if (a.length !== dim || b.length !== dim) {
    throw new ConfigError(
      `normalization.${key}`,
      `stats have ${a.length} channels but the feature has ${dim}`,
    );
  }
  const offset = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (let c = 0; c < dim; c++) {
    if (mode === 'mean_std') {
      offset[c] = a[c];
      scale[c] = 1 / (b[c] + eps);
    } else {
      // 2(x−lo)/(hi−lo) − 1 = (x − (lo+hi)/2)·2/(hi−lo); a zero range uses eps as LeRobot does.
      const range = b[c] - a[c];
      offset[c] = (a[c] + b[c]) / 2;
      scale[c] = 2 / (range === 0 ? eps : range);
    }
  }
  return new Normalizer(key, mode, offset, scale);
}
