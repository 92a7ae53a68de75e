import { posix, win32 } from 'node:path';
import { DatasetError } from './errors.js';
import { type FeatureSpec, validateFeatures } from './features.js';

export type CodebaseVersion = 'v2.0' | 'v2.1' | 'v3.0';

/** `meta/info.json`. v2.x and v3.0 share most keys; version-specific ones are optional here. */
export interface DatasetInfo {
  codebase_version: CodebaseVersion;
  robot_type: string | null;
  fps: number;
  features: Record<string, FeatureSpec>;
  total_episodes: number;
  total_frames: number;
  total_tasks: number;
  chunks_size: number;
  data_path: string;
  video_path: string | null;
  splits: Record<string, string>;
  /** v2.x only */
  total_chunks?: number;
  total_videos?: number;
  /** v3.0 only */
  data_files_size_in_mb?: number;
  video_files_size_in_mb?: number;
}

export const V21_DATA_PATH = 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet';
export const V21_VIDEO_PATH = 'videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4';
export const V30_DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const V30_VIDEO_PATH = 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4';
export const V30_EPISODES_PATH = 'meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';

/** Fills a Python-format path template (`{name}` and `{name:03d}` are the forms LeRobot uses). */
export function formatTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (_whole, name: string, width?: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`path template ${template}: no value for {${name}}`);
    const s = String(v);
    return width ? s.padStart(Number(width), '0') : s;
  });
}

/**
 * A data or video file path from its info.json template (`field`: `data_path` or `video_path`), refused
 * with a DatasetError when it is absolute or climbs out of the dataset root (`../`), whatever the template
 * or the values (feature keys included) put in it. The result stays relative to the root.
 */
export function templatePath(
  template: string,
  values: Record<string, string | number>,
  field: 'data_path' | 'video_path',
): string {
  const rel = formatTemplate(template, values);
  const unified = rel.replaceAll('\\', '/');
  const normal = posix.normalize(unified);
  if (
    rel.includes('\0') ||
    posix.isAbsolute(unified) ||
    win32.isAbsolute(rel) ||
    normal === '..' ||
    normal.startsWith('../')
  ) {
    throw new DatasetError(
      'meta/info.json',
      field,
      `template ${JSON.stringify(template)} resolves to ${JSON.stringify(rel)}, which is outside the dataset root; every data and video path must stay inside the dataset folder`,
    );
  }
  return rel;
}

function requireNumber(raw: Record<string, unknown>, key: string, file: string, integer = true): number {
  const v = raw[key];
  if (v === undefined) throw new DatasetError(file, key, 'is missing');
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < 0) {
    throw new DatasetError(
      file,
      key,
      `is ${JSON.stringify(v)}; expected a non-negative ${integer ? 'integer' : 'number'}`,
    );
  }
  return v;
}

/** Parses and validates `meta/info.json`; every missing or wrong field is an error naming it. */
export function parseInfo(raw: unknown, file: string): DatasetInfo {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DatasetError(file, '(root)', 'must be a JSON object');
  }
  const r = raw as Record<string, unknown>;
  const version = r.codebase_version;
  if (version === undefined) throw new DatasetError(file, 'codebase_version', 'is missing');
  if (version !== 'v2.0' && version !== 'v2.1' && version !== 'v3.0') {
    throw new DatasetError(
      file,
      'codebase_version',
      `is ${JSON.stringify(version)}; this reader supports v2.0, v2.1 and v3.0 (convert older datasets with lerobot)`,
    );
  }
  // fps is an int in LeRobot but some datasets write 30.0; both parse to the same JS number.
  const fps = requireNumber(r, 'fps', file, false);
  if (fps <= 0) throw new DatasetError(file, 'fps', `is ${fps}; must be > 0`);
  if (r.features === undefined) throw new DatasetError(file, 'features', 'is missing');
  const features = validateFeatures(r.features, file);
  for (const key of ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index']) {
    if (!features[key]) {
      throw new DatasetError(file, `features.${key}`, 'is missing (LeRobot adds it to every dataset)');
    }
  }
  const dataPath = r.data_path;
  if (typeof dataPath !== 'string' || dataPath.length === 0) {
    throw new DatasetError(file, 'data_path', `is ${JSON.stringify(dataPath)}; expected a path template`);
  }
  const hasVideo = Object.values(features).some((f) => f.dtype === 'video');
  const videoPath = r.video_path ?? null;
  if (videoPath !== null && typeof videoPath !== 'string') {
    throw new DatasetError(file, 'video_path', `is ${JSON.stringify(videoPath)}; expected a string or null`);
  }
  if (hasVideo && !videoPath) {
    throw new DatasetError(file, 'video_path', 'is missing but the dataset has video features');
  }
  const splitsRaw = r.splits ?? {};
  if (typeof splitsRaw !== 'object' || splitsRaw === null || Array.isArray(splitsRaw)) {
    throw new DatasetError(file, 'splits', `is ${JSON.stringify(splitsRaw)}; expected an object`);
  }
  const robotType = r.robot_type ?? null;
  if (robotType !== null && typeof robotType !== 'string') {
    throw new DatasetError(file, 'robot_type', `is ${JSON.stringify(robotType)}; expected a string or null`);
  }
  const info: DatasetInfo = {
    codebase_version: version,
    robot_type: robotType as string | null,
    fps,
    features,
    total_episodes: requireNumber(r, 'total_episodes', file),
    total_frames: requireNumber(r, 'total_frames', file),
    total_tasks: requireNumber(r, 'total_tasks', file),
    chunks_size: requireNumber(r, 'chunks_size', file),
    data_path: dataPath,
    video_path: videoPath as string | null,
    splits: splitsRaw as Record<string, string>,
  };
  if (info.chunks_size === 0) throw new DatasetError(file, 'chunks_size', 'must be > 0');
  if (version === 'v3.0') {
    if (r.data_files_size_in_mb !== undefined) {
      info.data_files_size_in_mb = requireNumber(r, 'data_files_size_in_mb', file, false);
    }
    if (r.video_files_size_in_mb !== undefined) {
      info.video_files_size_in_mb = requireNumber(r, 'video_files_size_in_mb', file, false);
    }
  } else {
    if (r.total_chunks !== undefined) info.total_chunks = requireNumber(r, 'total_chunks', file);
    if (r.total_videos !== undefined) info.total_videos = requireNumber(r, 'total_videos', file);
  }
  return info;
}

/** Parses a LeRobot split string such as `"0:4,5:8,9"` into episode indices. */
export function parseSplit(spec: string, file: string, field: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?::(\d+))?$/.exec(p);
    if (!m) throw new DatasetError(file, field, `cannot parse ${JSON.stringify(p)}; expected "a:b" or "a"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a + 1 : Number(m[2]);
    for (let i = a; i < b; i++) out.push(i);
  }
  return out;
}
