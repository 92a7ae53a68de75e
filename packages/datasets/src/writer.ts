import { appendFileSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { ConfigError, DatasetError } from './errors.js';
import { DEFAULT_FEATURES, type FeatureSpec, isNumeric, numel, validateFeatures } from './features.js';
import { writeFileAtomic, writeJsonAtomic, writeJsonlAtomic } from './fs-utils.js';
import { encodePng } from './image-codec.js';
import {
  type DatasetInfo,
  formatTemplate,
  V21_DATA_PATH,
  V21_VIDEO_PATH,
  V30_DATA_PATH,
  V30_EPISODES_PATH,
  V30_VIDEO_PATH,
} from './info.js';
import { featureSchema, hfFeature, listSchema } from './parquet-io.js';
import {
  aggregateDatasetStats,
  computeStats,
  type DatasetStats,
  ImageHistogram,
  QUANTILES,
  statsToJson,
} from './stats.js';
import {
  codecName,
  concatVideos,
  DEFAULT_VIDEO_ENCODING,
  encodeVideo,
  FFMPEG_MISSING,
  ffmpegAvailable,
  type VideoEncoding,
} from './video.js';

export type FrameValue =
  | Float32Array
  | Float64Array
  | Int32Array
  | number[]
  | number
  | boolean
  | string
  | Uint8Array;

export interface WriterOptions {
  fps: number;
  features: Record<string, FeatureSpec>;
  robotType?: string;
  /** v3.0 (LeRobot ≥0.4, default) or v2.1 (LeRobot ≤0.3, what openpi's tooling reads) */
  version?: 'v3.0' | 'v2.1';
  /** where `image` features go: PNG bytes inside parquet (default: no ffmpeg needed, lossless) or mp4 */
  imageStorage?: 'parquet' | 'video';
  /** v3.0: a new data file starts past this size (LeRobot default 100 MB) */
  dataFilesSizeInMb?: number;
  /** v3.0: a new mp4 starts past this size (LeRobot default 200 MB since 0.4.2) */
  videoFilesSizeInMb?: number;
  /** v3.0: files per chunk directory; v2.1: episodes per chunk (LeRobot default 1000) */
  chunksSize?: number;
  /** ffmpeg encoder settings for video features (defaults: LeRobot's libsvtav1, crf 30, g 2) */
  video?: Partial<VideoEncoding>;
}

interface EpisodeRecord {
  episode_index: number;
  tasks: string[];
  length: number;
  from: number;
  to: number;
  dataChunk: number;
  dataFile: number;
  videos: Record<string, { chunk: number; file: number; from: number; to: number }>;
  stats: DatasetStats;
}

interface VideoFileState {
  chunk: number;
  file: number;
  segments: string[];
  duration: number;
  bytes: number;
}

const MB = 1024 * 1024;

function nextChunkFile(chunk: number, file: number, chunksSize: number): [number, number] {
  return file + 1 >= chunksSize ? [chunk + 1, 0] : [chunk, file + 1];
}

/**
 * Writes a LeRobot dataset with LeRobot's create → addFrame → saveEpisode → finalize pattern. `timestamp`,
 * `frame_index`, `episode_index`, `index` and `task_index` are filled here.
 */
export class DatasetWriter {
  private readonly features: Record<string, FeatureSpec>;
  private readonly userKeys: string[];
  private readonly version: 'v3.0' | 'v2.1';
  private readonly enc: VideoEncoding;
  private readonly chunksSize: number;
  private readonly dataLimit: number;
  private readonly videoLimit: number;
  private readonly tasks = new Map<string, number>();
  private readonly episodes: EpisodeRecord[] = [];
  private totalFrames = 0;
  private finalized = false;
  // current episode
  private frameTasks: string[] = [];
  private numeric: Record<string, number[]> = {};
  private strings: Record<string, string[]> = {};
  private images: Record<string, Uint8Array[]> = {};
  private imageStats: Record<string, ImageHistogram> = {};
  private rawVideo: Record<string, string> = {};
  // v3.0 state
  private dataFile: {
    chunk: number;
    file: number;
    writer: ParquetWriter;
    out: { offset: number };
    tmp: string;
  } | null = null;
  private nextData: [number, number] = [0, 0];
  private readonly videoFiles: Record<string, VideoFileState[]> = {};

  private constructor(
    readonly root: string,
    private readonly opts: WriterOptions,
    features: Record<string, FeatureSpec>,
  ) {
    this.features = features;
    this.userKeys = Object.keys(features).filter((k) => !(k in DEFAULT_FEATURES));
    this.version = opts.version ?? 'v3.0';
    this.enc = { ...DEFAULT_VIDEO_ENCODING, ...opts.video };
    this.chunksSize = opts.chunksSize ?? 1000;
    this.dataLimit = (opts.dataFilesSizeInMb ?? 100) * MB;
    this.videoLimit = (opts.videoFilesSizeInMb ?? 200) * MB;
    this.resetEpisode();
  }

  static async create(root: string, opts: WriterOptions): Promise<DatasetWriter> {
    if (!Number.isFinite(opts.fps) || opts.fps <= 0) {
      throw new ConfigError('fps', `is ${opts.fps}; pass the recording rate in Hz (e.g. 30)`);
    }
    const version = opts.version ?? 'v3.0';
    if (version !== 'v3.0' && version !== 'v2.1') {
      throw new ConfigError('version', `is ${JSON.stringify(version)}; use 'v3.0' or 'v2.1'`);
    }
    const storage = opts.imageStorage ?? 'parquet';
    if (storage !== 'parquet' && storage !== 'video') {
      throw new ConfigError('imageStorage', `is ${JSON.stringify(storage)}; use 'parquet' or 'video'`);
    }
    for (const k of Object.keys(opts.features)) {
      if (k in DEFAULT_FEATURES) {
        throw new ConfigError(`features.${k}`, 'is filled by the writer; remove it from the features');
      }
    }
    for (const [name, v] of [
      ['chunksSize', opts.chunksSize],
      ['dataFilesSizeInMb', opts.dataFilesSizeInMb],
      ['videoFilesSizeInMb', opts.videoFilesSizeInMb],
    ] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        throw new ConfigError(name, `is ${v}; must be > 0`);
    }
    const user = validateFeatures(opts.features, '<DatasetWriter options>');
    for (const [k, f] of Object.entries(user)) {
      if (f.dtype === 'image' && storage === 'video') f.dtype = 'video';
      if (f.dtype === 'video') {
        if (!ffmpegAvailable())
          throw new ConfigError(`features.${k}`, `is a video feature but ${FFMPEG_MISSING}`);
        if (f.shape[2] !== 3) {
          throw new ConfigError(
            `features.${k}.shape`,
            `is ${JSON.stringify(f.shape)}; write videos as [H, W, 3]`,
          );
        }
        f.names = ['height', 'width', 'channels'];
      }
      if (f.dtype === 'image') {
        if (f.shape[2] !== 3) {
          throw new ConfigError(
            `features.${k}.shape`,
            `is ${JSON.stringify(f.shape)}; write images as [H, W, 3]`,
          );
        }
        f.names = f.names ?? ['height', 'width', 'channels'];
      }
      if (isNumeric(f) || f.dtype === 'string') {
        if (f.shape.length !== 1) {
          throw new ConfigError(
            `features.${k}.shape`,
            `is ${JSON.stringify(f.shape)}; the writer stores scalars and 1-D vectors (flatten it)`,
          );
        }
        if (f.dtype === 'string' && f.shape[0] !== 1) {
          throw new ConfigError(`features.${k}.shape`, 'a string feature must have shape [1]');
        }
      }
    }
    try {
      await stat(join(root, 'meta', 'info.json'));
      throw new DatasetError(
        join(root, 'meta', 'info.json'),
        '(file)',
        'exists; refusing to overwrite a dataset',
      );
    } catch (e) {
      if (e instanceof DatasetError) throw e;
    }
    await mkdir(root, { recursive: true });
    if (Object.values(user).some((f) => f.dtype === 'video'))
      await mkdir(join(root, '.staging'), { recursive: true });
    const features: Record<string, FeatureSpec> = { ...user };
    for (const [k, f] of Object.entries(DEFAULT_FEATURES)) features[k] = { ...f, shape: [...f.shape] };
    const w = new DatasetWriter(root, opts, features);
    return w;
  }

  get numEpisodes(): number {
    return this.episodes.length;
  }

  get numFrames(): number {
    return this.totalFrames;
  }

  /** Frames buffered for the episode being recorded. */
  get episodeBufferSize(): number {
    return this.frameTasks.length;
  }

  private resetEpisode(): void {
    this.frameTasks = [];
    this.numeric = {};
    this.strings = {};
    this.images = {};
    this.imageStats = {};
    this.rawVideo = {};
    for (const k of this.userKeys) {
      const f = this.features[k];
      if (isNumeric(f)) this.numeric[k] = [];
      else if (f.dtype === 'string') this.strings[k] = [];
      else {
        this.imageStats[k] = new ImageHistogram();
        if (f.dtype === 'image') this.images[k] = [];
        else this.rawVideo[k] = join(this.root, '.staging', `${k}.episode-${this.episodes.length}.rgb`);
      }
    }
  }

  /** Appends one frame. Values are copied; images are HWC RGB uint8. */
  addFrame(frame: Record<string, FrameValue>, task: string): void {
    if (this.finalized) throw new ConfigError('addFrame', 'the writer is finalized');
    if (typeof task !== 'string' || task.length === 0) {
      throw new ConfigError('task', 'must be a non-empty string (the language instruction)');
    }
    const fi = this.frameTasks.length;
    for (const k of Object.keys(frame)) {
      if (k in DEFAULT_FEATURES)
        throw new ConfigError(`frame.${k}`, 'is filled by the writer; do not pass it');
      if (!(k in this.features)) {
        throw new ConfigError(
          `frame.${k}`,
          `is not a declared feature (declared: ${this.userKeys.join(', ')})`,
        );
      }
    }
    // Validate everything before mutating, so a bad frame leaves the episode intact.
    for (const k of this.userKeys) {
      const f = this.features[k];
      const v = frame[k];
      if (v === undefined) throw new ConfigError(`frame.${k}`, `is missing in frame ${fi}`);
      if (f.dtype === 'string') {
        if (typeof v !== 'string') throw new ConfigError(`frame.${k}`, 'must be a string');
      } else if (f.dtype === 'image' || f.dtype === 'video') {
        const want = numel(f.shape);
        if (!(v instanceof Uint8Array) || v.length !== want) {
          throw new ConfigError(
            `frame.${k}`,
            `must be a Uint8Array of ${want} bytes (HWC RGB ${f.shape.join('x')}), got ${describe(v)}`,
          );
        }
      } else {
        const n = typeof v === 'number' || typeof v === 'boolean' ? 1 : (v as ArrayLike<number>).length;
        if (typeof v === 'string' || n !== f.shape[0]) {
          throw new ConfigError(
            `frame.${k}`,
            `has ${describe(v)}; feature shape is ${JSON.stringify(f.shape)}`,
          );
        }
      }
    }
    for (const k of this.userKeys) {
      const f = this.features[k];
      const v = frame[k];
      if (f.dtype === 'string') this.strings[k].push(v as string);
      else if (f.dtype === 'image' || f.dtype === 'video') {
        const img = v as Uint8Array;
        const [H, W] = f.shape;
        this.imageStats[k].add(img);
        if (f.dtype === 'image') this.images[k].push(encodePng({ data: img, height: H, width: W }));
        else {
          if (fi === 0) appendFileSync(this.rawVideo[k], new Uint8Array(0), { flag: 'w' });
          appendFileSync(this.rawVideo[k], img);
        }
      } else {
        const arr = this.numeric[k];
        if (typeof v === 'number') arr.push(v);
        else if (typeof v === 'boolean') arr.push(v ? 1 : 0);
        else
          for (let i = 0; i < (v as ArrayLike<number>).length; i++)
            arr.push(Number((v as ArrayLike<number>)[i]));
      }
    }
    this.frameTasks.push(task);
  }

  /** Writes the buffered episode (data rows, videos, per-episode stats). */
  async saveEpisode(): Promise<void> {
    if (this.finalized) throw new ConfigError('saveEpisode', 'the writer is finalized');
    const n = this.frameTasks.length;
    if (n === 0) throw new ConfigError('saveEpisode', 'the episode has no frames; call addFrame first');
    const ep = this.episodes.length;
    const from = this.totalFrames;
    const fps = this.opts.fps;
    const taskIdx = this.frameTasks.map((t) => {
      let i = this.tasks.get(t);
      if (i === undefined) {
        i = this.tasks.size;
        this.tasks.set(t, i);
      }
      return i;
    });
    // Default columns, as LeRobot fills them: timestamp = frame_index / fps.
    const defaults: Record<string, number[]> = {
      timestamp: Array.from({ length: n }, (_, i) => Math.fround(i / fps)),
      frame_index: Array.from({ length: n }, (_, i) => i),
      episode_index: new Array<number>(n).fill(ep),
      index: Array.from({ length: n }, (_, i) => from + i),
      task_index: taskIdx,
    };
    const stats: DatasetStats = {};
    for (const [k, f] of Object.entries(this.features)) {
      if (k in defaults) stats[k] = computeStats(defaults[k], n, 1);
      else if (isNumeric(f)) stats[k] = computeStats(this.numeric[k], n, f.shape[0]);
      else if (f.dtype === 'image' || f.dtype === 'video') stats[k] = this.imageStats[k].stats();
    }
    // Column data for parquet.
    const columnData: { name: string; data: unknown[] }[] = [];
    const schema: SchemaElement[] = [{ name: 'schema', num_children: 0 }];
    const hf: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(this.features)) {
      if (f.dtype === 'video') continue;
      schema.push(...featureSchema(k, f));
      schema[0].num_children = (schema[0].num_children ?? 0) + 1;
      hf[k] = hfFeature(f);
      const vals = k in defaults ? defaults[k] : this.numeric[k];
      let data: unknown[];
      if (f.dtype === 'image') data = this.images[k].map((bytes) => ({ bytes, path: null }));
      else if (f.dtype === 'string') data = this.strings[k];
      else data = toColumn(vals, n, f);
      columnData.push({ name: k, data });
    }
    const kv = [{ key: 'huggingface', value: JSON.stringify({ info: { features: hf } }) }];
    const rec: EpisodeRecord = {
      episode_index: ep,
      tasks: [...new Set(this.frameTasks)],
      length: n,
      from,
      to: from + n,
      dataChunk: 0,
      dataFile: 0,
      videos: {},
      stats,
    };
    if (this.version === 'v2.1') {
      const chunk = Math.floor(ep / this.chunksSize);
      rec.dataChunk = chunk;
      const rel = formatTemplate(V21_DATA_PATH, { episode_chunk: chunk, episode_index: ep });
      await mkdir(join(this.root, rel, '..'), { recursive: true });
      const tmp = join(this.root, `${rel}.partial`);
      const pw = new ParquetWriter({ writer: fileWriter(tmp), schema, kvMetadata: kv });
      await pw.write({ columnData, rowGroupSize: n });
      await pw.finish();
      await rename(tmp, join(this.root, rel));
    } else {
      if (this.dataFile && this.dataFile.out.offset >= this.dataLimit) await this.closeDataFile();
      if (!this.dataFile) {
        const [chunk, file] = this.nextData;
        const rel = formatTemplate(V30_DATA_PATH, { chunk_index: chunk, file_index: file });
        await mkdir(join(this.root, rel, '..'), { recursive: true });
        const tmp = join(this.root, `${rel}.partial`);
        const out = fileWriter(tmp);
        this.dataFile = {
          chunk,
          file,
          writer: new ParquetWriter({ writer: out, schema, kvMetadata: kv }),
          out,
          tmp,
        };
        this.nextData = nextChunkFile(chunk, file, this.chunksSize);
      }
      rec.dataChunk = this.dataFile.chunk;
      rec.dataFile = this.dataFile.file;
      await this.dataFile.writer.write({ columnData, rowGroupSize: n });
    }
    for (const [k, f] of Object.entries(this.features)) {
      if (f.dtype !== 'video') continue;
      const [H, W] = f.shape;
      if (this.version === 'v2.1') {
        const chunk = Math.floor(ep / this.chunksSize);
        const rel = formatTemplate(V21_VIDEO_PATH, { episode_chunk: chunk, video_key: k, episode_index: ep });
        await mkdir(join(this.root, rel, '..'), { recursive: true });
        await encodeVideo(this.rawVideo[k], W, H, fps, join(this.root, rel), this.enc);
        rec.videos[k] = { chunk, file: ep, from: 0, to: n / fps };
      } else {
        const seg = join(this.root, '.staging', `${k}.episode-${ep}.mp4`);
        await encodeVideo(this.rawVideo[k], W, H, fps, seg, this.enc);
        const size = (await stat(seg)).size;
        const files = this.videoFiles[k] ?? [];
        this.videoFiles[k] = files;
        let cur = files.at(-1);
        if (!cur || (cur.segments.length > 0 && cur.bytes + size > this.videoLimit)) {
          const [chunk, file] = cur ? nextChunkFile(cur.chunk, cur.file, this.chunksSize) : [0, 0];
          cur = { chunk, file, segments: [], duration: 0, bytes: 0 };
          files.push(cur);
        }
        rec.videos[k] = { chunk: cur.chunk, file: cur.file, from: cur.duration, to: cur.duration + n / fps };
        cur.segments.push(seg);
        cur.duration += n / fps;
        cur.bytes += size;
      }
      await rm(this.rawVideo[k], { force: true });
    }
    this.episodes.push(rec);
    this.totalFrames += n;
    this.resetEpisode();
  }

  /** Drops the frames buffered since the last saveEpisode (e.g. a failed demonstration). */
  clearEpisode(): void {
    this.resetEpisode();
  }

  private async closeDataFile(): Promise<void> {
    if (!this.dataFile) return;
    const { chunk, file, writer, tmp } = this.dataFile;
    await writer.finish();
    await rename(
      tmp,
      join(this.root, formatTemplate(V30_DATA_PATH, { chunk_index: chunk, file_index: file })),
    );
    this.dataFile = null;
  }

  /** Closes open files, packs videos and writes the metadata (info.json, stats, tasks, episodes). */
  async finalize(): Promise<void> {
    if (this.finalized) throw new ConfigError('finalize', 'already called');
    if (this.frameTasks.length > 0) {
      throw new ConfigError(
        'finalize',
        `${this.frameTasks.length} frames are not saved; call saveEpisode() or clearEpisode() first`,
      );
    }
    const meta = join(this.root, 'meta');
    await mkdir(meta, { recursive: true });
    const visual = (k: string) => this.features[k].dtype === 'image' || this.features[k].dtype === 'video';
    const perEpisodeJson = (s: DatasetStats) =>
      Object.fromEntries(Object.entries(s).map(([k, v]) => [k, statsToJson(v, visual(k))]));
    const global = this.episodes.length ? aggregateDatasetStats(this.episodes.map((e) => e.stats)) : {};
    const features = structuredClone(this.features);
    const videoKeys = Object.keys(features).filter((k) => features[k].dtype === 'video');
    for (const k of videoKeys) {
      const [H, W] = features[k].shape;
      features[k].info = {
        'video.height': H,
        'video.width': W,
        'video.codec': codecName(this.enc.codec),
        'video.pix_fmt': this.enc.pixFmt,
        'video.is_depth_map': false,
        'video.fps': this.opts.fps,
        'video.channels': 3,
        'video.g': this.enc.gop,
        'video.crf': this.enc.crf,
        has_audio: false,
      };
    }
    const tasks = [...this.tasks.entries()].sort((a, b) => a[1] - b[1]);
    const base = {
      codebase_version: this.version,
      robot_type: this.opts.robotType ?? null,
      total_episodes: this.episodes.length,
      total_frames: this.totalFrames,
      total_tasks: tasks.length,
    };
    let info: DatasetInfo & Record<string, unknown>;
    if (this.version === 'v2.1') {
      info = {
        ...base,
        total_videos: videoKeys.length * this.episodes.length,
        total_chunks: Math.ceil(this.episodes.length / this.chunksSize),
        chunks_size: this.chunksSize,
        fps: this.opts.fps,
        splits: { train: `0:${this.episodes.length}` },
        data_path: V21_DATA_PATH,
        video_path: videoKeys.length ? V21_VIDEO_PATH : null,
        features,
      };
      await writeJsonlAtomic(
        join(meta, 'episodes.jsonl'),
        this.episodes.map((e) => ({ episode_index: e.episode_index, tasks: e.tasks, length: e.length })),
      );
      await writeJsonlAtomic(
        join(meta, 'episodes_stats.jsonl'),
        this.episodes.map((e) => ({ episode_index: e.episode_index, stats: perEpisodeJson(e.stats) })),
      );
      await writeJsonlAtomic(
        join(meta, 'tasks.jsonl'),
        tasks.map(([task, task_index]) => ({ task_index, task })),
      );
    } else {
      await this.closeDataFile();
      for (const k of videoKeys) {
        for (const f of this.videoFiles[k] ?? []) {
          const rel = formatTemplate(V30_VIDEO_PATH, {
            video_key: k,
            chunk_index: f.chunk,
            file_index: f.file,
          });
          await mkdir(join(this.root, rel, '..'), { recursive: true });
          await concatVideos(f.segments, join(this.root, rel));
        }
      }
      info = {
        ...base,
        chunks_size: this.chunksSize,
        data_files_size_in_mb: this.dataLimit / MB,
        video_files_size_in_mb: this.videoLimit / MB,
        fps: this.opts.fps,
        splits: { train: `0:${this.episodes.length}` },
        data_path: V30_DATA_PATH,
        video_path: videoKeys.length ? V30_VIDEO_PATH : null,
        features,
      };
      await this.writeTasksParquet(tasks);
      await this.writeEpisodesParquet(videoKeys);
    }
    await writeJsonAtomic(
      join(meta, 'stats.json'),
      Object.fromEntries(Object.entries(global).map(([k, v]) => [k, statsToJson(v, visual(k))])),
    );
    // info.json last: its presence marks a complete dataset.
    await writeJsonAtomic(join(meta, 'info.json'), info);
    await rm(join(this.root, '.staging'), { recursive: true, force: true });
    this.finalized = true;
  }

  private async writeTasksParquet(tasks: [string, number][]): Promise<void> {
    // pandas metadata makes `pd.read_parquet` restore `task` as the index, as LeRobot expects.
    const pandas = {
      index_columns: ['task'],
      column_indexes: [],
      columns: [
        {
          name: 'task_index',
          field_name: 'task_index',
          pandas_type: 'int64',
          numpy_type: 'int64',
          metadata: null,
        },
        { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
      ],
      creator: { library: '@anchor-refine/datasets', version: '0.1.0' },
      pandas_version: '2.2.3',
    };
    const schema: SchemaElement[] = [
      { name: 'schema', num_children: 2 },
      { name: 'task_index', repetition_type: 'OPTIONAL', type: 'INT64' },
      { name: 'task', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    ];
    await writeParquetAtomic(
      join(this.root, 'meta', 'tasks.parquet'),
      schema,
      [
        { name: 'task_index', data: tasks.map(([, i]) => BigInt(i)) },
        { name: 'task', data: tasks.map(([t]) => t) },
      ],
      [{ key: 'pandas', value: JSON.stringify(pandas) }],
    );
  }

  private async writeEpisodesParquet(videoKeys: string[]): Promise<void> {
    const eps = this.episodes;
    const schema: SchemaElement[] = [{ name: 'schema', num_children: 0 }];
    const cols: { name: string; data: unknown[] }[] = [];
    const add = (els: SchemaElement[], name: string, data: unknown[]) => {
      schema.push(...els);
      schema[0].num_children = (schema[0].num_children ?? 0) + 1;
      cols.push({ name, data });
    };
    const int = (name: string, data: number[]) =>
      add([{ name, repetition_type: 'OPTIONAL', type: 'INT64' }], name, data.map(BigInt));
    const dbl = (name: string, data: number[]) =>
      add([{ name, repetition_type: 'OPTIONAL', type: 'DOUBLE' }], name, data);
    int(
      'episode_index',
      eps.map((e) => e.episode_index),
    );
    add(
      listSchema('tasks', { type: 'BYTE_ARRAY', converted_type: 'UTF8' }),
      'tasks',
      eps.map((e) => e.tasks),
    );
    int(
      'length',
      eps.map((e) => e.length),
    );
    int(
      'data/chunk_index',
      eps.map((e) => e.dataChunk),
    );
    int(
      'data/file_index',
      eps.map((e) => e.dataFile),
    );
    int(
      'dataset_from_index',
      eps.map((e) => e.from),
    );
    int(
      'dataset_to_index',
      eps.map((e) => e.to),
    );
    for (const k of videoKeys) {
      int(
        `videos/${k}/chunk_index`,
        eps.map((e) => e.videos[k].chunk),
      );
      int(
        `videos/${k}/file_index`,
        eps.map((e) => e.videos[k].file),
      );
      dbl(
        `videos/${k}/from_timestamp`,
        eps.map((e) => e.videos[k].from),
      );
      dbl(
        `videos/${k}/to_timestamp`,
        eps.map((e) => e.videos[k].to),
      );
    }
    int(
      'meta/episodes/chunk_index',
      eps.map(() => 0),
    );
    int(
      'meta/episodes/file_index',
      eps.map(() => 0),
    );
    if (eps.length > 0) {
      for (const k of Object.keys(eps[0].stats)) {
        for (const s of ['min', 'max', 'mean', 'std', ...QUANTILES.map(([q]) => q)] as const) {
          const name = `stats/${k}/${s}`;
          add(
            listSchema(name, { type: 'DOUBLE' }),
            name,
            eps.map((e) => e.stats[k][s] ?? []),
          );
        }
        add(
          listSchema(`stats/${k}/count`, { type: 'INT64' }),
          `stats/${k}/count`,
          eps.map((e) => [BigInt(e.stats[k].count)]),
        );
      }
    }
    await writeParquetAtomic(
      join(this.root, formatTemplate(V30_EPISODES_PATH, { chunk_index: 0, file_index: 0 })),
      schema,
      cols,
      [],
    );
  }
}

async function writeParquetAtomic(
  path: string,
  schema: SchemaElement[],
  columnData: { name: string; data: unknown[] }[],
  kvMetadata: { key: string; value: string }[],
): Promise<void> {
  const { ByteWriter } = await import('hyparquet-writer');
  const out = new ByteWriter();
  // An empty key-value list is written as a thrift list of element type 0, which arrow-rs rejects.
  const pw = new ParquetWriter({
    writer: out,
    schema,
    kvMetadata: kvMetadata.length ? kvMetadata : undefined,
  });
  await pw.write({ columnData, rowGroupSize: Math.max(1, columnData[0]?.data.length ?? 1) });
  await pw.finish();
  await writeFileAtomic(path, out.getBytes());
}

function toColumn(vals: number[], n: number, f: FeatureSpec): unknown[] {
  const d = f.shape[0];
  const conv: (v: number) => unknown =
    f.dtype === 'int64'
      ? (v: number) => BigInt(Math.round(v))
      : f.dtype === 'bool'
        ? (v: number) => v !== 0
        : f.dtype === 'int32'
          ? (v: number) => Math.round(v)
          : (v: number) => v;
  if (d === 1 && f.shape.length === 1) return vals.map(conv);
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = new Array(d);
    for (let j = 0; j < d; j++) row[j] = conv(vals[i * d + j]);
    out[i] = row;
  }
  return out;
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}
