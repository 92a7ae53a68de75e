/**
 * Hand-assembled LeRobot datasets, built from the format description and NOT through DatasetWriter:
 * parquet files come from parquet-wasm (arrow-rs, the Rust implementation) via apache-arrow tables, JSON
 * and JSONL metadata are written literally. A mistake made symmetrically in our writer and reader cannot
 * pass these tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as arrow from 'apache-arrow';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import * as pw from 'parquet-wasm';

export const FPS = 10;
export const LENGTHS = [3, 2];
export const TASKS = ['stack the blocks', 'push the button'];
/** global frame g: state [g, −g]; action [g/2, 1, ±1 (odd g = +1)] */
export const stateOf = (g: number) => [g, -g];
export const actionOf = (g: number) => [g * 0.5, 1, g % 2 ? 1 : -1];
/** 4×4 PNG camera and 8×8 JPEG camera with simple patterns */
export function camPixels(g: number, size: number): Uint8Array {
  const px = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    px[3 * i] = (g * 40 + i * 3) & 255;
    px[3 * i + 1] = 128;
    px[3 * i + 2] = (255 - g * 40) & 255;
  }
  return px;
}

const f32 = () => new arrow.Float32();
const i64 = () => new arrow.Int64();
const listOf = (t: arrow.DataType, fixed?: number) =>
  fixed
    ? new arrow.FixedSizeList(fixed, new arrow.Field('item', t, true))
    : new arrow.List(new arrow.Field('item', t, true));
const imageType = () =>
  new arrow.Struct([
    new arrow.Field('bytes', new arrow.Binary(), true),
    new arrow.Field('path', new arrow.Utf8(), true),
  ]);

export function parquetBytes(
  columns: Record<string, arrow.Vector> | arrow.Table,
  codec: pw.Compression = pw.Compression.SNAPPY,
): Uint8Array {
  const table = columns instanceof arrow.Table ? columns : new arrow.Table(columns);
  const props = new pw.WriterPropertiesBuilder().setCompression(codec).build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
}

async function put(root: string, rel: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), data);
}

export interface FixtureOptions {
  /** override one timestamp: [global row, value] */
  timestamp?: [number, number];
  /** action width written to parquet (info.json always says 3) */
  actionWidth?: number;
  /** extra info.json edits */
  info?: (info: Record<string, unknown>) => void;
  /** declare a video camera `observation.images.vid` (its mp4 is not written) */
  videoFeature?: boolean;
  /** replace the stored bytes of `observation.images.cam` at global row g (return undefined to keep them) */
  camBytes?: (g: number) => Uint8Array | undefined;
}

function dataColumns(rows: number[], opts: FixtureOptions): Record<string, arrow.Vector> {
  const ep = (g: number) => (g < LENGTHS[0] ? 0 : 1);
  const fi = (g: number) => (g < LENGTHS[0] ? g : g - LENGTHS[0]);
  const ts = rows.map((g) => (opts.timestamp && opts.timestamp[0] === g ? opts.timestamp[1] : fi(g) / FPS));
  const width = opts.actionWidth ?? 3;
  const actions = rows.map((g) => [...actionOf(g), 0, 0].slice(0, width));
  return {
    // HF Sequence(length=N) is an arrow fixed_size_list; `action` uses a plain list to cover both layouts.
    'observation.state': arrow.vectorFromArray(rows.map(stateOf), listOf(f32(), 2)),
    action: arrow.vectorFromArray(actions, listOf(f32())),
    'observation.images.cam': arrow.vectorFromArray(
      rows.map((g) => ({
        bytes: opts.camBytes?.(g) ?? encodePng({ width: 4, height: 4, data: camPixels(g, 4), channels: 3 }),
        path: null,
      })),
      imageType(),
    ),
    'observation.images.jpg': arrow.vectorFromArray(
      rows.map((g) => ({
        bytes: new Uint8Array(jpeg.encode({ width: 8, height: 8, data: rgba(camPixels(g, 8)) }, 95).data),
        path: `frame_${g}.jpg`,
      })),
      imageType(),
    ),
    timestamp: arrow.vectorFromArray(ts, f32()),
    frame_index: arrow.vectorFromArray(
      rows.map((g) => BigInt(fi(g))),
      i64(),
    ),
    episode_index: arrow.vectorFromArray(
      rows.map((g) => BigInt(ep(g))),
      i64(),
    ),
    index: arrow.vectorFromArray(
      rows.map((g) => BigInt(g)),
      i64(),
    ),
    task_index: arrow.vectorFromArray(
      rows.map((g) => BigInt(ep(g))),
      i64(),
    ),
  };
}

function rgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0; i < rgb.length / 3; i++) {
    out[4 * i] = rgb[3 * i];
    out[4 * i + 1] = rgb[3 * i + 1];
    out[4 * i + 2] = rgb[3 * i + 2];
    out[4 * i + 3] = 255;
  }
  return out;
}

function infoJson(version: 'v3.0' | 'v2.1', opts: FixtureOptions): Record<string, unknown> {
  const features: Record<string, unknown> = {
    'observation.state': { dtype: 'float32', shape: [2], names: ['x', 'y'] },
    action: { dtype: 'float32', shape: [3], names: ['a0', 'a1', 'gripper'] },
    'observation.images.cam': { dtype: 'image', shape: [4, 4, 3], names: ['height', 'width', 'channel'] },
    'observation.images.jpg': { dtype: 'image', shape: [8, 8, 3], names: ['height', 'width', 'channels'] },
    timestamp: { dtype: 'float32', shape: [1], names: null },
    frame_index: { dtype: 'int64', shape: [1], names: null },
    episode_index: { dtype: 'int64', shape: [1], names: null },
    index: { dtype: 'int64', shape: [1], names: null },
    task_index: { dtype: 'int64', shape: [1], names: null },
  };
  if (opts.videoFeature) {
    features['observation.images.vid'] = {
      dtype: 'video',
      shape: [64, 64, 3],
      names: ['height', 'width', 'channels'],
      info: { 'video.codec': 'av1', 'video.fps': FPS },
    };
  }
  const info: Record<string, unknown> =
    version === 'v3.0'
      ? {
          codebase_version: 'v3.0',
          robot_type: 'fixture_arm',
          total_episodes: 2,
          total_frames: 5,
          total_tasks: 2,
          chunks_size: 1000,
          data_files_size_in_mb: 100,
          video_files_size_in_mb: 200,
          fps: FPS,
          splits: { train: '0:2' },
          data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
          video_path: opts.videoFeature
            ? 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4'
            : null,
          features,
        }
      : {
          codebase_version: 'v2.1',
          robot_type: 'fixture_arm',
          total_episodes: 2,
          total_frames: 5,
          total_tasks: 2,
          total_videos: 0,
          total_chunks: 1,
          chunks_size: 1000,
          fps: FPS,
          splits: { train: '0:2' },
          data_path: 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
          video_path: null,
          features,
        };
  opts.info?.(info);
  return info;
}

/** Hand-computed stats of `action` over all 5 frames (g/2, constant 1, alternating ±1). */
export const ACTION_STATS = {
  mean: [1, 1, -0.2],
  std: [Math.sqrt(0.5), 0, Math.sqrt(0.96)],
  min: [0, 1, -1],
  max: [2, 1, 1],
  q01: [0.02, 1, -1],
  q99: [1.98, 1, 1],
};

export async function buildFixtureV3(root: string, opts: FixtureOptions = {}): Promise<void> {
  await put(root, 'meta/info.json', JSON.stringify(infoJson('v3.0', opts), null, 2));
  await put(
    root,
    'meta/stats.json',
    JSON.stringify({
      action: { ...ACTION_STATS, count: [5] },
      'observation.images.cam': {
        mean: [[[0.5]], [[0.5]], [[0.5]]],
        std: [[[0.1]], [[0.1]], [[0.1]]],
        min: [[[0]], [[0]], [[0]]],
        max: [[[1]], [[1]], [[1]]],
        count: [5],
      },
    }),
  );
  await put(
    root,
    'meta/tasks.parquet',
    parquetBytes({
      task_index: arrow.vectorFromArray([0n, 1n], i64()),
      task: arrow.vectorFromArray(TASKS, new arrow.Utf8()),
    }),
  );
  const episodes: Record<string, arrow.Vector> = {
    episode_index: arrow.vectorFromArray([0n, 1n], i64()),
    tasks: arrow.vectorFromArray([[TASKS[0]], [TASKS[1]]], listOf(new arrow.Utf8())),
    length: arrow.vectorFromArray([3n, 2n], i64()),
    'data/chunk_index': arrow.vectorFromArray([0n, 0n], i64()),
    'data/file_index': arrow.vectorFromArray([0n, 0n], i64()),
    dataset_from_index: arrow.vectorFromArray([0n, 3n], i64()),
    dataset_to_index: arrow.vectorFromArray([3n, 5n], i64()),
    'meta/episodes/chunk_index': arrow.vectorFromArray([0n, 0n], i64()),
    'meta/episodes/file_index': arrow.vectorFromArray([0n, 0n], i64()),
    'stats/action/mean': arrow.vectorFromArray(
      [
        [0.5, 1, -1 / 3],
        [1.75, 1, 0],
      ],
      listOf(new arrow.Float64()),
    ),
  };
  if (opts.videoFeature) {
    const k = 'videos/observation.images.vid/';
    episodes[`${k}chunk_index`] = arrow.vectorFromArray([0n, 0n], i64());
    episodes[`${k}file_index`] = arrow.vectorFromArray([0n, 0n], i64());
    episodes[`${k}from_timestamp`] = arrow.vectorFromArray([0, 0.3], new arrow.Float64());
    episodes[`${k}to_timestamp`] = arrow.vectorFromArray([0.3, 0.5], new arrow.Float64());
  }
  // ZSTD here (pyarrow users often pick it) exercises hyparquet-compressors.
  await put(root, 'meta/episodes/chunk-000/file-000.parquet', parquetBytes(episodes, pw.Compression.ZSTD));
  await put(root, 'data/chunk-000/file-000.parquet', parquetBytes(dataColumns([0, 1, 2, 3, 4], opts)));
}

export async function buildFixtureV21(root: string, opts: FixtureOptions = {}): Promise<void> {
  await put(root, 'meta/info.json', JSON.stringify(infoJson('v2.1', opts), null, 2));
  await put(
    root,
    'meta/tasks.jsonl',
    `{"task_index": 0, "task": "${TASKS[0]}"}\n{"task_index": 1, "task": "${TASKS[1]}"}\n`,
  );
  await put(
    root,
    'meta/episodes.jsonl',
    `{"episode_index": 0, "tasks": ["${TASKS[0]}"], "length": 3}\n{"episode_index": 1, "tasks": ["${TASKS[1]}"], "length": 2}\n`,
  );
  // Per-episode action stats, hand-computed: ep0 frames g=0..2, ep1 g=3..4. v2.1 has no quantiles.
  const ep0 = {
    mean: [0.5, 1, -1 / 3],
    std: [Math.sqrt(1 / 6), 0, Math.sqrt(8 / 9)],
    min: [0, 1, -1],
    max: [1, 1, 1],
    count: [3],
  };
  const ep1 = { mean: [1.75, 1, 0], std: [0.25, 0, 1], min: [1.5, 1, -1], max: [2, 1, 1], count: [2] };
  await put(
    root,
    'meta/episodes_stats.jsonl',
    `${JSON.stringify({ episode_index: 0, stats: { action: ep0 } })}\n${JSON.stringify({ episode_index: 1, stats: { action: ep1 } })}\n`,
  );
  await put(root, 'data/chunk-000/episode_000000.parquet', parquetBytes(dataColumns([0, 1, 2], opts)));
  await put(root, 'data/chunk-000/episode_000001.parquet', parquetBytes(dataColumns([3, 4], opts)));
}
