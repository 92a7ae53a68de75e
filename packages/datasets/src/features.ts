import { DatasetError } from './errors.js';

export type FeatureDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'image' | 'video' | 'string';
export const FEATURE_DTYPES: readonly FeatureDtype[] = [
  'float32',
  'float64',
  'int64',
  'int32',
  'bool',
  'image',
  'video',
  'string',
];

/** One entry of `info.json` `features` (LeRobot schema; `info` holds video encoder facts). */
export interface FeatureSpec {
  dtype: FeatureDtype;
  shape: number[];
  names?: string[] | string[][] | Record<string, string[]> | null;
  info?: Record<string, unknown> | null;
  /** v3.0 converters add the dataset fps to non-video features; kept when present */
  fps?: number;
}

/** Columns LeRobot adds to every frame; the writer fills them. */
export const DEFAULT_FEATURES: Record<string, FeatureSpec> = {
  timestamp: { dtype: 'float32', shape: [1], names: null },
  frame_index: { dtype: 'int64', shape: [1], names: null },
  episode_index: { dtype: 'int64', shape: [1], names: null },
  index: { dtype: 'int64', shape: [1], names: null },
  task_index: { dtype: 'int64', shape: [1], names: null },
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isVisual(spec: FeatureSpec): boolean {
  return spec.dtype === 'image' || spec.dtype === 'video';
}

export function isNumeric(spec: FeatureSpec): boolean {
  return (
    spec.dtype === 'float32' ||
    spec.dtype === 'float64' ||
    spec.dtype === 'int64' ||
    spec.dtype === 'int32' ||
    spec.dtype === 'bool'
  );
}

/** Image layout of a visual feature: HWC (LeRobot default) or CHW (seen in ported datasets). */
export function imageLayout(spec: FeatureSpec): {
  height: number;
  width: number;
  channels: number;
  chw: boolean;
} {
  const names = Array.isArray(spec.names) ? spec.names : null;
  const chw = names !== null && (names[0] === 'channels' || names[0] === 'channel');
  const [a, b, c] = spec.shape;
  return chw ? { channels: a, height: b, width: c, chw } : { height: a, width: b, channels: c, chw };
}

/** Validates the `features` object of an info.json (or writer options); errors name `features.<key>.<field>`. */
export function validateFeatures(raw: unknown, file: string): Record<string, FeatureSpec> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DatasetError(
      file,
      'features',
      'must be an object mapping feature keys to {dtype, shape, names}',
    );
  }
  const out: Record<string, FeatureSpec> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const field = `features.${key}`;
    if (key.includes('/')) throw new DatasetError(file, field, "feature names must not contain '/'");
    if (value === null || typeof value !== 'object') {
      throw new DatasetError(file, field, 'must be an object {dtype, shape, names}');
    }
    const v = value as Record<string, unknown>;
    if (typeof v.dtype !== 'string' || !FEATURE_DTYPES.includes(v.dtype as FeatureDtype)) {
      throw new DatasetError(
        file,
        `${field}.dtype`,
        `is ${JSON.stringify(v.dtype)}; expected one of ${FEATURE_DTYPES.join(', ')}`,
      );
    }
    if (!Array.isArray(v.shape) || v.shape.length === 0) {
      throw new DatasetError(
        file,
        `${field}.shape`,
        `is ${JSON.stringify(v.shape)}; expected a non-empty array`,
      );
    }
    for (const d of v.shape) {
      if (!Number.isInteger(d) || (d as number) <= 0) {
        throw new DatasetError(
          file,
          `${field}.shape`,
          `is ${JSON.stringify(v.shape)}; every dimension must be a positive integer`,
        );
      }
    }
    const dtype = v.dtype as FeatureDtype;
    const shape = (v.shape as number[]).slice();
    if ((dtype === 'image' || dtype === 'video') && (shape.length !== 3 || !shape.includes(3))) {
      throw new DatasetError(
        file,
        `${field}.shape`,
        `is ${JSON.stringify(shape)}; an ${dtype} feature must be [height, width, 3] (or [3, height, width])`,
      );
    }
    // `names` is documentation only, as in LeRobot (which never checks it against the shape): published
    // datasets store one list per channel, a list nested one level (`[[…26 names…]]`), a single label
    // (`["state"]` for shape [8], openpi's LIBERO converter) or an object of lists. Kept as given.
    const names = v.names as FeatureSpec['names'];
    const info = (v.info ?? v.video_info ?? null) as FeatureSpec['info'];
    const spec: FeatureSpec = { dtype, shape, names: names ?? null };
    if (info) spec.info = info;
    if (typeof v.fps === 'number') spec.fps = v.fps;
    out[key] = spec;
  }
  return out;
}
