/**
 * Decoded frames of video-backed cameras, with bounded memory. An episode's frames (per camera and output
 * size) are split into blocks of a few MB; blocks live in a byte-bounded LRU cache. A request decodes its
 * missing blocks with as few ffmpeg runs as possible: consecutive missing blocks of one episode are one
 * sequential pass (a whole episode is decoded once, front to back), and a lone block is a seek to the
 * nearest keyframe before it plus a short forward decode. Decodes issued together (one batch's misses,
 * across episodes and files) share one ffmpeg process, since starting ffmpeg costs more than decoding a
 * block. At most `concurrency` ffmpeg processes run at once, and one never holds more than `maxRunBytes`
 * of frames.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LruCache } from './lru.js';
import type { EpisodeInfo } from './reader.js';
import { decodeVideoSegments, type VideoSegment } from './video.js';

/** Most segments decoded by one ffmpeg run (misses issued together share a process). */
const MAX_SEGMENTS = 16;

interface Pending {
  segment: VideoSegment;
  resolve: (v: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** Target bytes of one cached block (MIN_BLOCK..MAX_BLOCK frames; never more than 1/8 of the cache). */
const BLOCK_BYTES = 2 * 2 ** 20;
const MIN_BLOCK = 4;
const MAX_BLOCK = 32;

export interface VideoFrameRequest {
  key: string;
  episode: EpisodeInfo;
  /** frame offsets within the episode */
  frames: readonly number[];
  width: number;
  height: number;
}

/** Runs at most `limit` async tasks at once, in call order. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.queue.shift()?.();
    }
  }
}

export class VideoFrames {
  private readonly cache: LruCache<Uint8Array>;
  private readonly limiter: Limiter;
  private readonly maxRunBytes: number;
  private readonly pending = new Map<string, Pending[]>();

  constructor(
    private readonly root: string,
    private readonly fps: number,
    private readonly cacheBytes: number,
    concurrency = availableParallelism(),
  ) {
    this.cache = new LruCache(cacheBytes, (v) => v.length);
    this.limiter = new Limiter(Math.max(1, concurrency));
    this.maxRunBytes = Math.max(BLOCK_BYTES, Math.min(64 * 2 ** 20, Math.floor(cacheBytes / 4)));
  }

  /** Bytes of decoded frames held now. */
  get sizeBytes(): number {
    return this.cache.sizeBytes;
  }

  /** Frames per cached block at this output size: about BLOCK_BYTES, and at most 1/8 of the cache. */
  blockFrames(width: number, height: number): number {
    const frameBytes = width * height * 3;
    const target = Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, Math.floor(BLOCK_BYTES / frameBytes)));
    return Math.max(1, Math.min(target, Math.floor(this.cacheBytes / (8 * frameBytes))));
  }

  /** HWC RGB frames (views into cached blocks), in the order of `req.frames`. */
  async frames(req: VideoFrameRequest): Promise<Uint8Array[]> {
    const { key, episode: ep, width, height } = req;
    const frameBytes = width * height * 3;
    const per = this.blockFrames(width, height);
    const nBlocks = Math.ceil(ep.length / per);
    const blockKey = (b: number) => `${key}\0${width}x${height}\0${ep.episodeIndex}\0${b}`;
    const span = (b: number) => [b * per, Math.min(ep.length, (b + 1) * per)] as const;
    const wanted = [...new Set(req.frames.map((f) => Math.floor(f / per)))].sort((a, b) => a - b);
    const blocks = new Map<number, Promise<Uint8Array>>();
    // Consecutive missing blocks become one sequential decode, capped at maxRunBytes.
    const runLimit = Math.max(1, Math.floor(this.maxRunBytes / (per * frameBytes)));
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const first = run[0] as number;
      const last = run[run.length - 1] as number;
      const [start] = span(first);
      const [, end] = span(last);
      const decoded = this.decode(key, ep, start, end - start, width, height);
      for (const b of run) {
        const [s, e] = span(b);
        blocks.set(
          b,
          this.cache.get(blockKey(b), async () =>
            (await decoded).slice((s - start) * frameBytes, (e - start) * frameBytes),
          ),
        );
      }
      run = [];
    };
    for (const b of wanted) {
      if (b < 0 || b >= nBlocks)
        throw new RangeError(`frame block ${b} is outside episode ${ep.episodeIndex}`);
      if (this.cache.has(blockKey(b))) {
        flush();
        const [s, e] = span(b);
        blocks.set(
          b,
          this.cache.get(blockKey(b), () => this.decode(key, ep, s, e - s, width, height)),
        );
        continue;
      }
      const prev = run[run.length - 1];
      if (prev !== undefined && (prev !== b - 1 || run.length >= runLimit)) flush();
      run.push(b);
    }
    flush();
    return Promise.all(
      req.frames.map(async (f) => {
        const b = Math.floor(f / per);
        const block = await (blocks.get(b) as Promise<Uint8Array>);
        const off = (f - b * per) * frameBytes;
        return block.subarray(off, off + frameBytes);
      }),
    );
  }

  private decode(
    key: string,
    ep: EpisodeInfo,
    start: number,
    count: number,
    width: number,
    height: number,
  ): Promise<Uint8Array> {
    const v = ep.videos[key];
    if (!v) throw new RangeError(`episode ${ep.episodeIndex} has no video for ${key}`);
    const segment = {
      path: join(this.root, v.file),
      relPath: v.file,
      fromTs: v.fromTimestamp + start / this.fps,
      count,
    };
    const group = `${key}\0${width}x${height}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      const list = this.pending.get(group);
      if (list) list.push({ segment, resolve, reject });
      else {
        this.pending.set(group, [{ segment, resolve, reject }]);
        setImmediate(() => this.flush(group, key, width, height));
      }
    });
  }

  /** Decodes the segments queued for one camera and size, a few per ffmpeg run. */
  private flush(group: string, key: string, width: number, height: number): void {
    const list = this.pending.get(group) ?? [];
    this.pending.delete(group);
    const frameBytes = width * height * 3;
    let i = 0;
    while (i < list.length) {
      const chunk: Pending[] = [];
      let bytes = 0;
      while (i < list.length && chunk.length < MAX_SEGMENTS) {
        const next = list[i] as Pending;
        const b = next.segment.count * frameBytes;
        if (chunk.length > 0 && bytes + b > this.maxRunBytes) break;
        chunk.push(next);
        bytes += b;
        i += 1;
      }
      this.limiter
        .run(() =>
          decodeVideoSegments(
            chunk.map((p) => p.segment),
            key,
            this.fps,
            width,
            height,
          ),
        )
        .then(
          (parts) => {
            chunk.forEach((p, k) => {
              p.resolve(parts[k] as Uint8Array);
            });
          },
          (err: unknown) => {
            for (const p of chunk) p.reject(err);
          },
        );
    }
  }
}
