import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { type FeatureSpec, imageLayout, isNumeric, numel } from './features.js';
import { chwToHwc, type DecodedImage, decodeImage, resolveMaxImagePixels } from './image-codec.js';
import { type DatasetInfo, parseInfo, templatePath } from './info.js';
import { LruCache } from './lru.js';
import { type LoadedParquet, loadParquet, type ParquetRow, readRows } from './parquet-io.js';
import { aggregateDatasetStats, type DatasetStats, parseDatasetStats } from './stats.js';
import { requireFfmpeg } from './video.js';
import { VideoFrames } from './video-frames.js';

export interface EpisodeInfo {
  episodeIndex: number;
  tasks: string[];
  length: number;
  /** half-open range [from, to) of global frame indices */
  from: number;
  to: number;
  /** data parquet holding the episode, relative to the root */
  dataFile: string;
  /** per video feature: mp4 (relative) and the episode's segment [fromTimestamp, toTimestamp) in it */
  videos: Record<string, { file: string; fromTimestamp: number; toTimestamp: number }>;
}

export type NumericColumn = Float32Array | Float64Array | Uint8Array;
export type ReadValue = number | boolean | string | Float32Array | Float64Array | Uint8Array | DecodedImage;

export interface OpenOptions {
  /** bytes of encoded image columns kept in memory (per-file column loads); default 1 GiB */
  imageCacheBytes?: number;
  /** bytes of decoded video frames kept in memory (blocks of a few MB, LRU); default 512 MiB */
  videoCacheBytes?: number;
  /** timestamp tolerance in seconds (LeRobot `tolerance_s`, 1e-4) */
  toleranceS?: number;
  /**
   * largest width × height a stored PNG/JPEG header may declare; larger images are refused before
   * decoding (decompression bombs). Default DEFAULT_MAX_IMAGE_PIXELS (8192 × 8192).
   */
  maxImagePixels?: number;
}

export interface ImageOptions {
  /** video features: decode scaled to [height, width] (image features ignore it) */
  size?: [number, number];
}

/** A LeRobot dataset opened for reading. Numeric columns live in memory; images load lazily. */
export class LeRobotDataset {
  /** task string per task_index */
  readonly tasks: string[];
  readonly numFrames: number;
  private readonly episodeOfFrame: Int32Array;
  private readonly imageColumns: LruCache<Uint8Array[]>;
  private readonly videoFrames: VideoFrames;
  private readonly maxImagePixels: number;

  constructor(
    readonly root: string,
    readonly info: DatasetInfo,
    tasks: string[],
    readonly episodes: EpisodeInfo[],
    readonly stats: DatasetStats,
    private readonly numeric: Record<string, NumericColumn>,
    private readonly strings: Record<string, string[]>,
    /** rows of each data file: global index of its first row */
    private readonly fileStart: Map<string, number>,
    opts: OpenOptions = {},
  ) {
    this.tasks = tasks;
    this.numFrames = episodes.length ? episodes[episodes.length - 1].to : 0;
    this.episodeOfFrame = new Int32Array(this.numFrames);
    episodes.forEach((e, i) => {
      this.episodeOfFrame.fill(i, e.from, e.to);
    });
    this.imageColumns = new LruCache(opts.imageCacheBytes ?? 2 ** 30, (v) =>
      v.reduce((s, b) => s + b.length, 0),
    );
    this.videoFrames = new VideoFrames(root, info.fps, opts.videoCacheBytes ?? 2 ** 29);
    this.maxImagePixels = resolveMaxImagePixels(opts.maxImagePixels);
  }

  get fps(): number {
    return this.info.fps;
  }

  get features(): Record<string, FeatureSpec> {
    return this.info.features;
  }

  /** Feature keys of cameras (image or video dtype). */
  get cameraKeys(): string[] {
    return Object.keys(this.features).filter((k) => {
      const d = this.features[k].dtype;
      return d === 'image' || d === 'video';
    });
  }

  /** Position in `episodes` of the episode holding global frame `i`. */
  episodePosition(i: number): number {
    this.checkIndex(i);
    return this.episodeOfFrame[i];
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.numFrames) {
      throw new RangeError(`frame index ${i} is outside [0, ${this.numFrames})`);
    }
  }

  /** The whole in-memory column of a numeric feature, row-major `[numFrames, numel(shape)]`. */
  column(key: string): NumericColumn {
    const c = this.numeric[key];
    if (!c) {
      throw new DatasetError(
        this.root,
        key,
        `is not a numeric feature (numeric: ${Object.keys(this.numeric).join(', ')})`,
      );
    }
    return c;
  }

  /** Numeric or string value of one frame (scalars as numbers, vectors as typed-array views). */
  value(key: string, i: number): number | boolean | string | Float32Array | Float64Array | Uint8Array {
    this.checkIndex(i);
    const spec = this.features[key];
    if (!spec) throw new DatasetError(this.root, key, 'is not a feature of this dataset');
    if (spec.dtype === 'string') return this.strings[key][i];
    const col = this.column(key);
    const d = numel(spec.shape);
    if (d === 1) return spec.dtype === 'bool' ? col[i] !== 0 : col[i];
    return col.subarray(i * d, (i + 1) * d);
  }

  /** Decoded image (HWC RGB uint8) of a camera feature at global frame `i`. */
  async image(key: string, i: number, opts: ImageOptions = {}): Promise<DecodedImage> {
    return (await this.images(key, [i], opts))[0];
  }

  /** Bytes of decoded video frames cached now (bounded by `videoCacheBytes`). */
  get videoCacheSizeBytes(): number {
    return this.videoFrames.sizeBytes;
  }

  /**
   * Decoded images of one camera for several frames. Video frames are decoded in blocks (one sequential
   * ffmpeg pass per run of consecutive blocks, seeking from the nearest keyframe) and cached with bounded
   * memory; `size` has ffmpeg scale them to [height, width] (bilinear) before they are converted to RGB and
   * piped, which costs far less than full-size frames. Image (PNG/JPEG) features ignore `size` and come at their stored size.
   */
  async images(key: string, indices: readonly number[], opts: ImageOptions = {}): Promise<DecodedImage[]> {
    const spec = this.features[key];
    if (!spec || (spec.dtype !== 'image' && spec.dtype !== 'video')) {
      throw new DatasetError(
        this.root,
        key,
        `is not a camera feature (cameras: ${this.cameraKeys.join(', ')})`,
      );
    }
    const { height, width, chw } = imageLayout(spec);
    for (const i of indices) this.checkIndex(i);
    if (spec.dtype === 'video') {
      const [h, w] = opts.size ?? [height, width];
      const out: DecodedImage[] = new Array(indices.length);
      const byEpisode = new Map<number, number[]>();
      indices.forEach((i, n) => {
        const e = this.episodeOfFrame[i];
        const list = byEpisode.get(e);
        if (list) list.push(n);
        else byEpisode.set(e, [n]);
      });
      await Promise.all(
        [...byEpisode].map(async ([e, slots]) => {
          const episode = this.episodes[e];
          const frames = slots.map((n) => (indices[n] as number) - episode.from);
          const data = await this.videoFrames.frames({ key, episode, frames, width: w, height: h });
          slots.forEach((n, j) => {
            out[n] = { data: data[j] as Uint8Array, height: h, width: w };
          });
        }),
      );
      return out;
    }
    return Promise.all(
      indices.map(async (i) => {
        const ep = this.episodes[this.episodeOfFrame[i]];
        const col = await this.imageColumn(key, ep.dataFile);
        const row = i - (this.fileStart.get(ep.dataFile) ?? 0);
        const at = `row ${row} (episode ${ep.episodeIndex}, frame ${i - ep.from})`;
        // The header is checked against the cap and the feature shape before anything is decoded.
        let img: DecodedImage;
        try {
          img = decodeImage(col[row], {
            file: ep.dataFile,
            field: key,
            frame: at,
            maxImagePixels: this.maxImagePixels,
            expectSize: { height, width, source: `features.${key}.shape is ${JSON.stringify(spec.shape)}` },
          });
        } catch (e) {
          if (e instanceof DatasetError) throw e;
          throw new DatasetError(ep.dataFile, key, `${at}: cannot decode image: ${(e as Error).message}`);
        }
        if (img.height !== height || img.width !== width) {
          throw new DatasetError(
            ep.dataFile,
            key,
            `${at}: image is ${img.height}x${img.width} but features.${key}.shape is ${JSON.stringify(spec.shape)}`,
          );
        }
        return chw ? { data: chwToHwc(img.data, height, width), height, width } : img;
      }),
    );
  }

  private imageColumn(key: string, file: string): Promise<Uint8Array[]> {
    return this.imageColumns.get(`${key}\0${file}`, async () => {
      const pq = await loadParquet(join(this.root, file), file);
      const rows = await readRows(pq, [key]);
      return rows.map((r, row) => {
        const v = r[key] as { bytes?: unknown } | Uint8Array | null;
        const bytes = v instanceof Uint8Array ? v : v?.bytes;
        if (!(bytes instanceof Uint8Array)) {
          throw new DatasetError(
            file,
            key,
            `row ${row}: expected an image struct {bytes, path} with embedded bytes (external image paths are not supported)`,
          );
        }
        return bytes;
      });
    });
  }

  /** All features of one frame, images decoded, plus the task string (as LeRobot's `__getitem__`). */
  async getFrame(i: number): Promise<Record<string, ReadValue> & { task: string }> {
    this.checkIndex(i);
    const out: Record<string, ReadValue> = {};
    for (const [k, f] of Object.entries(this.features)) {
      if (f.dtype === 'image' || f.dtype === 'video') out[k] = await this.image(k, i);
      else out[k] = this.value(k, i);
    }
    const ti = this.numeric.task_index[i];
    return { ...out, task: this.tasks[ti] };
  }

  /** Frames [start, end) of the episode at position `episode` in `episodes` (videos decoded in one pass). */
  async getEpisodeFrames(
    episode: number,
    start = 0,
    end?: number,
  ): Promise<(Record<string, ReadValue> & { task: string })[]> {
    const ep = this.episodes[episode];
    if (!ep) throw new RangeError(`episode ${episode} is outside [0, ${this.episodes.length})`);
    const stop = Math.min(end ?? ep.length, ep.length);
    const indices = Array.from({ length: Math.max(0, stop - start) }, (_, f) => ep.from + start + f);
    const cams = new Map<string, DecodedImage[]>();
    for (const k of this.cameraKeys) cams.set(k, await this.images(k, indices));
    return indices.map((i, n) => {
      const out: Record<string, ReadValue> = {};
      for (const [k, f] of Object.entries(this.features)) {
        out[k] =
          f.dtype === 'image' || f.dtype === 'video' ? (cams.get(k) as DecodedImage[])[n] : this.value(k, i);
      }
      return { ...out, task: this.tasks[this.numeric.task_index[i]] };
    });
  }
}

// ---------------------------------------------------------------------------------------------

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(root: string, rel: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(root, rel), 'utf8');
  } catch (e) {
    throw new DatasetError(
      rel,
      '(file)',
      `cannot read ${join(root, rel)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(rel, '(json)', `invalid JSON: ${(e as Error).message}`);
  }
}

async function readJsonl(root: string, rel: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(join(root, rel), 'utf8');
  } catch (e) {
    throw new DatasetError(
      rel,
      '(file)',
      `cannot read ${join(root, rel)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const out: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      throw new DatasetError(rel, `line ${i + 1}`, `invalid JSON: ${(e as Error).message}`);
    }
  });
  return out;
}

function int(v: unknown, file: string, field: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new DatasetError(
      file,
      field,
      `is ${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}; expected an integer`,
    );
  }
  return n;
}

function num(v: unknown, file: string, field: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new DatasetError(file, field, `is ${JSON.stringify(v)}; expected a number`);
  }
  return n;
}

function stringList(v: unknown, file: string, field: string): string[] {
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) {
    throw new DatasetError(file, field, `is ${JSON.stringify(v)}; expected a list of strings`);
  }
  return v;
}

/** Opens a LeRobot v2.0/v2.1/v3.0 dataset and validates it (metadata, data rows, video files). */
export async function openDataset(root: string, opts: OpenOptions = {}): Promise<LeRobotDataset> {
  resolveMaxImagePixels(opts.maxImagePixels); // a bad option fails before anything is read
  const info = parseInfo(await readJson(root, 'meta/info.json'), 'meta/info.json');
  const v3 = info.codebase_version === 'v3.0';
  const { tasks, episodes } = v3 ? await readV3Meta(root, info) : await readV2Meta(root, info);
  const stats = await readStats(root, info);
  checkEpisodes(info, episodes);
  for (const k of Object.keys(info.features)) {
    if (info.features[k].dtype !== 'video') continue;
    requireFfmpeg('meta/info.json', `features.${k}`);
    const seen = new Set<string>();
    for (const e of episodes) {
      const v = e.videos[k];
      if (seen.has(v.file)) continue;
      seen.add(v.file);
      if (!(await exists(join(root, v.file)))) {
        throw new DatasetError(
          v.file,
          `videos/${k}`,
          `video file is missing (needed by episode ${e.episodeIndex})`,
        );
      }
    }
  }
  const { numeric, strings, fileStart } = await readDataColumns(
    root,
    info,
    episodes,
    opts.toleranceS ?? 1e-4,
  );
  return new LeRobotDataset(root, info, tasks, episodes, stats, numeric, strings, fileStart, opts);
}

async function readV2Meta(
  root: string,
  info: DatasetInfo,
): Promise<{ tasks: string[]; episodes: EpisodeInfo[] }> {
  const taskRows = await readJsonl(root, 'meta/tasks.jsonl');
  const tasks: string[] = [];
  taskRows.forEach((r, i) => {
    const ti = int(r.task_index, 'meta/tasks.jsonl', `line ${i + 1}: task_index`);
    if (typeof r.task !== 'string') {
      throw new DatasetError('meta/tasks.jsonl', `line ${i + 1}: task`, 'is missing or not a string');
    }
    tasks[ti] = r.task;
  });
  const epRows = await readJsonl(root, 'meta/episodes.jsonl');
  const episodes: EpisodeInfo[] = [];
  let from = 0;
  const sorted = epRows
    .map((r, i) => ({
      r,
      line: i + 1,
      ep: int(r.episode_index, 'meta/episodes.jsonl', `line ${i + 1}: episode_index`),
    }))
    .sort((a, b) => a.ep - b.ep);
  for (const { r, line, ep } of sorted) {
    const length = int(r.length, 'meta/episodes.jsonl', `line ${line}: length`);
    const chunk = Math.floor(ep / info.chunks_size);
    const videos: EpisodeInfo['videos'] = {};
    for (const [k, f] of Object.entries(info.features)) {
      if (f.dtype !== 'video') continue;
      const file = templatePath(
        info.video_path as string,
        { episode_chunk: chunk, video_key: k, episode_index: ep },
        'video_path',
      );
      videos[k] = { file, fromTimestamp: 0, toTimestamp: length / info.fps };
    }
    episodes.push({
      episodeIndex: ep,
      tasks: stringList(r.tasks, 'meta/episodes.jsonl', `line ${line}: tasks`),
      length,
      from,
      to: from + length,
      dataFile: templatePath(info.data_path, { episode_chunk: chunk, episode_index: ep }, 'data_path'),
      videos,
    });
    from += length;
  }
  return { tasks, episodes };
}

async function listParquet(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  let chunks: string[];
  try {
    chunks = (await readdir(join(root, dir))).filter((c) => c.startsWith('chunk-')).sort();
  } catch {
    throw new DatasetError(dir, '(directory)', 'is missing (v3.0 datasets keep episode metadata here)');
  }
  for (const c of chunks) {
    const files = (await readdir(join(root, dir, c))).filter((f) => f.endsWith('.parquet')).sort();
    for (const f of files) out.push(`${dir}/${c}/${f}`);
  }
  return out;
}

async function readV3Meta(
  root: string,
  info: DatasetInfo,
): Promise<{ tasks: string[]; episodes: EpisodeInfo[] }> {
  const tf = 'meta/tasks.parquet';
  const tq = await loadParquet(join(root, tf), tf);
  const taskCol = tq.columns.includes('task')
    ? 'task'
    : tq.columns.includes('__index_level_0__')
      ? '__index_level_0__'
      : null;
  if (!taskCol) throw new DatasetError(tf, 'task', `column is missing (file has ${tq.columns.join(', ')})`);
  const tasks: string[] = [];
  (await readRows(tq, ['task_index', taskCol])).forEach((r, i) => {
    const t = r[taskCol];
    if (typeof t !== 'string') throw new DatasetError(tf, `row ${i}: task`, 'is not a string');
    tasks[int(r.task_index, tf, `row ${i}: task_index`)] = t;
  });
  const videoKeys = Object.keys(info.features).filter((k) => info.features[k].dtype === 'video');
  const episodes: EpisodeInfo[] = [];
  for (const file of await listParquet(root, 'meta/episodes')) {
    const pq = await loadParquet(join(root, file), file);
    const cols = ['episode_index', 'tasks', 'length', 'data/chunk_index', 'data/file_index'];
    cols.push('dataset_from_index', 'dataset_to_index');
    for (const k of videoKeys) {
      for (const s of ['chunk_index', 'file_index', 'from_timestamp', 'to_timestamp'])
        cols.push(`videos/${k}/${s}`);
    }
    const rows: ParquetRow[] = await readRows(pq, cols);
    rows.forEach((r, i) => {
      const f = (c: string) => `row ${i}: ${c}`;
      const videos: EpisodeInfo['videos'] = {};
      for (const k of videoKeys) {
        const p = `videos/${k}/`;
        videos[k] = {
          file: templatePath(
            info.video_path as string,
            {
              video_key: k,
              chunk_index: int(r[`${p}chunk_index`], file, f(`${p}chunk_index`)),
              file_index: int(r[`${p}file_index`], file, f(`${p}file_index`)),
            },
            'video_path',
          ),
          fromTimestamp: num(r[`${p}from_timestamp`], file, f(`${p}from_timestamp`)),
          toTimestamp: num(r[`${p}to_timestamp`], file, f(`${p}to_timestamp`)),
        };
      }
      episodes.push({
        episodeIndex: int(r.episode_index, file, f('episode_index')),
        tasks: stringList(r.tasks, file, f('tasks')),
        length: int(r.length, file, f('length')),
        from: int(r.dataset_from_index, file, f('dataset_from_index')),
        to: int(r.dataset_to_index, file, f('dataset_to_index')),
        dataFile: templatePath(
          info.data_path,
          {
            chunk_index: int(r['data/chunk_index'], file, f('data/chunk_index')),
            file_index: int(r['data/file_index'], file, f('data/file_index')),
          },
          'data_path',
        ),
        videos,
      });
    });
  }
  episodes.sort((a, b) => a.episodeIndex - b.episodeIndex);
  return { tasks, episodes };
}

async function readStats(root: string, info: DatasetInfo): Promise<DatasetStats> {
  if (await exists(join(root, 'meta/stats.json'))) {
    return parseDatasetStats(await readJson(root, 'meta/stats.json'), 'meta/stats.json');
  }
  if (info.codebase_version !== 'v3.0' && (await exists(join(root, 'meta/episodes_stats.jsonl')))) {
    const file = 'meta/episodes_stats.jsonl';
    const rows = await readJsonl(root, file);
    return aggregateDatasetStats(
      rows.map((r, i) => parseDatasetStats(r.stats, file, `line ${i + 1}: stats`)),
    );
  }
  // No stats on disk: an empty map; the normalizer names the missing file when stats are needed.
  return {};
}

function checkEpisodes(info: DatasetInfo, episodes: EpisodeInfo[]): void {
  const file = info.codebase_version === 'v3.0' ? 'meta/episodes' : 'meta/episodes.jsonl';
  if (episodes.length !== info.total_episodes) {
    throw new DatasetError(
      'meta/info.json',
      'total_episodes',
      `is ${info.total_episodes} but ${file} lists ${episodes.length} episodes`,
    );
  }
  let expect = 0;
  episodes.forEach((e, i) => {
    if (e.episodeIndex !== i) {
      throw new DatasetError(
        file,
        'episode_index',
        `episodes must be numbered 0..${episodes.length - 1}; found ${e.episodeIndex} at position ${i}`,
      );
    }
    if (e.length <= 0)
      throw new DatasetError(file, `episode ${e.episodeIndex}: length`, `is ${e.length}; must be > 0`);
    if (e.from !== expect || e.to !== e.from + e.length) {
      throw new DatasetError(
        file,
        `episode ${e.episodeIndex}: dataset_from_index/dataset_to_index`,
        `is [${e.from}, ${e.to}) but episodes must tile [0, total_frames) contiguously (expected [${expect}, ${expect + e.length}))`,
      );
    }
    expect = e.to;
  });
  if (expect !== info.total_frames) {
    throw new DatasetError(
      'meta/info.json',
      'total_frames',
      `is ${info.total_frames} but the episodes hold ${expect} frames`,
    );
  }
}

function allocColumn(spec: FeatureSpec, n: number): NumericColumn {
  const size = n * numel(spec.shape);
  if (spec.dtype === 'float32') return new Float32Array(size);
  if (spec.dtype === 'bool') return new Uint8Array(size);
  return new Float64Array(size);
}

function flatten(v: unknown, out: number[]): void {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else if (typeof v === 'number') out.push(v);
  else if (typeof v === 'bigint') out.push(Number(v));
  else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  else if (ArrayBuffer.isView(v)) for (const x of v as unknown as Iterable<number>) out.push(Number(x));
  else out.push(Number.NaN);
}

async function readDataColumns(
  root: string,
  info: DatasetInfo,
  episodes: EpisodeInfo[],
  tol: number,
): Promise<{
  numeric: Record<string, NumericColumn>;
  strings: Record<string, string[]>;
  fileStart: Map<string, number>;
}> {
  const n = info.total_frames;
  const numeric: Record<string, NumericColumn> = {};
  const strings: Record<string, string[]> = {};
  const keys = Object.keys(info.features).filter(
    (k) => isNumeric(info.features[k]) || info.features[k].dtype === 'string',
  );
  for (const k of keys) {
    if (info.features[k].dtype === 'string') strings[k] = new Array<string>(n);
    else numeric[k] = allocColumn(info.features[k], n);
  }
  // Group episodes by data file, in order.
  const files: { file: string; eps: EpisodeInfo[] }[] = [];
  for (const e of episodes) {
    const last = files.at(-1);
    if (last && last.file === e.dataFile) last.eps.push(e);
    else {
      if (files.some((f) => f.file === e.dataFile)) {
        throw new DatasetError(
          e.dataFile,
          'episode_index',
          `episodes of this file are not consecutive (episode ${e.episodeIndex})`,
        );
      }
      files.push({ file: e.dataFile, eps: [e] });
    }
  }
  const fileStart = new Map<string, number>();
  const imageKeys = Object.keys(info.features).filter((k) => info.features[k].dtype === 'image');
  for (const { file, eps } of files) {
    const start = eps[0].from;
    const expected = eps.reduce((s, e) => s + e.length, 0);
    fileStart.set(file, start);
    const pq: LoadedParquet = await loadParquet(join(root, file), file);
    for (const k of imageKeys) {
      if (!pq.columns.includes(k))
        throw new DatasetError(file, k, `image column is missing (file has ${pq.columns.join(', ')})`);
    }
    if (pq.numRows !== expected) {
      throw new DatasetError(
        file,
        '(rows)',
        `has ${pq.numRows} rows but episodes ${eps[0].episodeIndex}..${eps.at(-1)?.episodeIndex} need ${expected}`,
      );
    }
    const rows = await readRows(pq, keys);
    const tmp: number[] = [];
    for (const k of keys) {
      const spec = info.features[k];
      if (spec.dtype === 'string') {
        rows.forEach((r, i) => {
          const v = r[k];
          if (typeof v !== 'string')
            throw new DatasetError(file, k, `row ${i}: expected a string, got ${typeof v}`);
          strings[k][start + i] = v;
        });
        continue;
      }
      const col = numeric[k];
      const d = numel(spec.shape);
      for (let i = 0; i < rows.length; i++) {
        tmp.length = 0;
        flatten(rows[i][k], tmp);
        if (tmp.length !== d) {
          throw new DatasetError(
            file,
            k,
            `row ${i}: has ${tmp.length} values but features.${k}.shape is ${JSON.stringify(spec.shape)} (shape mismatch)`,
          );
        }
        for (let j = 0; j < d; j++) {
          if (Number.isNaN(tmp[j]) && spec.dtype !== 'float32' && spec.dtype !== 'float64') {
            throw new DatasetError(file, k, `row ${i}: value ${j} is not a number`);
          }
          col[(start + i) * d + j] = tmp[j];
        }
      }
    }
    // Per-row consistency of the default columns.
    const ts = numeric.timestamp;
    const fi = numeric.frame_index;
    const ei = numeric.episode_index;
    const gi = numeric.index;
    const ti = numeric.task_index;
    for (const e of eps) {
      for (let f = 0; f < e.length; f++) {
        const g = e.from + f;
        const row = g - start;
        const where = `row ${row} (episode ${e.episodeIndex}, frame ${f})`;
        if (ei[g] !== e.episodeIndex) {
          throw new DatasetError(file, 'episode_index', `${where}: is ${ei[g]}, expected ${e.episodeIndex}`);
        }
        if (fi[g] !== f) throw new DatasetError(file, 'frame_index', `${where}: is ${fi[g]}, expected ${f}`);
        if (gi[g] !== g) throw new DatasetError(file, 'index', `${where}: is ${gi[g]}, expected ${g}`);
        const t = ts[g];
        const k = Math.round(t * info.fps);
        if (Math.abs(t - k / info.fps) > tol || (f > 0 && Math.abs(t - ts[g - 1] - 1 / info.fps) > tol)) {
          throw new DatasetError(
            file,
            'timestamp',
            `${where}: ${t} s is off the 1/fps grid (fps ${info.fps}, tolerance ${tol} s); frames must be ${1 / info.fps} s apart`,
          );
        }
        if (ti[g] < 0 || ti[g] >= info.total_tasks || !Number.isInteger(ti[g])) {
          throw new DatasetError(
            file,
            'task_index',
            `${where}: ${ti[g]} is not a task index in [0, ${info.total_tasks})`,
          );
        }
      }
    }
  }
  return { numeric, strings, fileStart };
}
