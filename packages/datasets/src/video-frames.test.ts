/**
 * Video cameras are decoded once per block with bounded memory: reading an episode front to back runs
 * one sequential ffmpeg pass per camera even when the episode is larger than the cache; random access
 * (long-GOP H.264, so most targets are not keyframes) seeks and returns exactly the frames a sequential
 * decode gives, and misses asked together share one ffmpeg run; `size` decodes scaled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LeRobotDataset, openDataset } from './reader.js';
import { tempDir } from './test-utils/synthetic.js';
import { ffmpegAvailable, videoDecodeStats } from './video.js';
import { VideoFrames } from './video-frames.js';
import { DatasetWriter } from './writer.js';

const S = 64;
const LEN = 60;
const CAMS = ['observation.images.a', 'observation.images.b'];

/** Frame f of camera c: red up and blue down 4 levels per frame (distinct neighbours), tint per camera. */
function frameImage(c: number, f: number): Uint8Array {
  const img = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++) {
    img[3 * i] = 10 + f * 4;
    img[3 * i + 1] = 60 + c * 100 + (i % S);
    img[3 * i + 2] = 250 - f * 4;
  }
  return img;
}

function meanAbs(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe.runIf(ffmpegAvailable())('video frames: decode once, bounded memory, random access', () => {
  let root: string;
  const cacheBytes = 256 * 1024; // smaller than one camera's episode (60 × 12 KB)

  beforeAll(async () => {
    const { dir, cleanup } = await tempDir('video-frames-');
    cleanups.push(cleanup);
    root = dir;
    const w = await DatasetWriter.create(root, {
      fps: 30,
      imageStorage: 'video',
      video: { codec: 'libx264', pixFmt: 'yuv420p', gop: 30, crf: 18 },
      features: {
        action: { dtype: 'float32', shape: [1] },
        [CAMS[0] as string]: { dtype: 'image', shape: [S, S, 3] },
        [CAMS[1] as string]: { dtype: 'image', shape: [S, S, 3] },
      },
    });
    for (let f = 0; f < LEN; f++) {
      w.addFrame(
        { action: [f], [CAMS[0] as string]: frameImage(0, f), [CAMS[1] as string]: frameImage(1, f) },
        't',
      );
    }
    await w.saveEpisode();
    await w.finalize();
  });

  it('an episode larger than the cache is decoded once per camera, in one pass each; memory stays bounded', async () => {
    const ds = await openDataset(root, { videoCacheBytes: cacheBytes });
    const before = { ...videoDecodeStats };
    const frames = await ds.getEpisodeFrames(0);
    expect(frames).toHaveLength(LEN);
    expect(videoDecodeStats.frames - before.frames).toBe(2 * LEN);
    expect(videoDecodeStats.processes - before.processes).toBe(2);
    frames.forEach((fr, f) => {
      CAMS.forEach((k, c) => {
        const img = fr[k] as { data: Uint8Array };
        const own = meanAbs(img.data, frameImage(c, f));
        expect(own, `${k} frame ${f}`).toBeLessThan(2);
        for (const g of [f - 1, f + 1].filter((g) => g >= 0 && g < LEN))
          expect(meanAbs(img.data, frameImage(c, g)), `${k} frame ${f} vs ${g}`).toBeGreaterThan(own + 1);
      });
    });
    const block = new VideoFrames(root, 30, cacheBytes).blockFrames(S, S) * S * S * 3;
    expect(ds.videoCacheSizeBytes).toBeLessThanOrEqual(cacheBytes + block);
    // Frame by frame (getFrame in a loop, default cache): each block decoded once, not once per frame.
    const ds2 = await openDataset(root);
    const mid = { ...videoDecodeStats };
    for (let f = 0; f < LEN; f++) await ds2.getFrame(f);
    expect(videoDecodeStats.frames - mid.frames).toBe(2 * LEN);
  });

  it('random access (long GOP) returns exactly the sequentially decoded frames, scaled when asked', async () => {
    const seq: LeRobotDataset = await openDataset(root);
    const all = Array.from({ length: LEN }, (_, f) => f);
    const reference = await seq.images(CAMS[0] as string, all, { size: [24, 32] });
    expect(reference[0]).toMatchObject({ height: 24, width: 32 });
    expect((reference[0] as { data: Uint8Array }).data).toHaveLength(24 * 32 * 3);
    const order = [47, 3, 59, 31, 12, 0, 38, 29, 30, 55];
    const ds = await openDataset(root);
    const before = videoDecodeStats.processes;
    for (const f of order) {
      const [img] = await ds.images(CAMS[0] as string, [f], { size: [24, 32] });
      expect(
        Buffer.compare(Buffer.from(img?.data ?? []), Buffer.from(reference[f]?.data ?? [])),
        `frame ${f}`,
      ).toBe(0);
    }
    const per = new VideoFrames(root, 30, 2 ** 29).blockFrames(32, 24);
    const blocks = new Set(order.map((f) => Math.floor(f / per))).size;
    expect(videoDecodeStats.processes - before).toBe(blocks);
    // The same misses asked together: one ffmpeg run (one input and seek per block), same pixels.
    const together = await openDataset(root);
    const start = videoDecodeStats.processes;
    const imgs = await together.images(CAMS[0] as string, order, { size: [24, 32] });
    expect(videoDecodeStats.processes - start).toBe(1);
    order.forEach((f, n) => {
      expect(
        Buffer.compare(Buffer.from(imgs[n]?.data ?? []), Buffer.from(reference[f]?.data ?? [])),
        `frame ${f}`,
      ).toBe(0);
    });
  });
});
