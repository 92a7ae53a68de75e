import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from './reader.js';
import { tempDir } from './test-utils/synthetic.js';
import { ffmpegAvailable } from './video.js';
import { DatasetWriter } from './writer.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const S = 64;
/** Frame (ep, f): flat brightness that differs by 24 levels between neighbours, plus a per-episode tint. */
function frameImage(ep: number, f: number): Uint8Array {
  const img = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++) {
    img[3 * i] = 20 + f * 24;
    img[3 * i + 1] = 40 + ep * 60;
    img[3 * i + 2] = 128;
  }
  return img;
}

function meanAbs(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe.runIf(ffmpegAvailable())('video features through ffmpeg', () => {
  it.each(['v3.0', 'v2.1'] as const)(
    '%s: AV1 mp4 per camera, the frame at each exact timestamp',
    async (version) => {
      const { dir, cleanup } = await tempDir('video-');
      cleanups.push(cleanup);
      const lens = [7, 5, 6];
      const w = await DatasetWriter.create(dir, {
        fps: 15,
        version,
        imageStorage: 'video',
        features: {
          action: { dtype: 'float32', shape: [2] },
          'observation.images.top': { dtype: 'image', shape: [S, S, 3] },
        },
      });
      for (let ep = 0; ep < lens.length; ep++) {
        for (let f = 0; f < lens[ep]; f++) {
          w.addFrame({ action: [ep, f], 'observation.images.top': frameImage(ep, f) }, 'watch');
        }
        await w.saveEpisode();
      }
      await w.finalize();
      const ds = await openDataset(dir);
      expect(ds.features['observation.images.top'].dtype).toBe('video');
      expect(ds.features['observation.images.top'].info?.['video.codec']).toBe('av1');
      if (version === 'v3.0') {
        // one concatenated mp4; episode segments at cumulative offsets
        expect(ds.episodes.map((e) => e.videos['observation.images.top'].file)).toEqual(
          Array(3).fill('videos/observation.images.top/chunk-000/file-000.mp4'),
        );
        expect(ds.episodes[2].videos['observation.images.top'].fromTimestamp).toBeCloseTo(12 / 15, 9);
      }
      for (let ep = 0; ep < lens.length; ep++) {
        const e = ds.episodes[ep];
        const imgs = await ds.images(
          'observation.images.top',
          Array.from({ length: e.length }, (_, f) => e.from + f),
        );
        for (let f = 0; f < e.length; f++) {
          const own = meanAbs(imgs[f].data, frameImage(ep, f));
          expect(own).toBeLessThan(6); // lossy (crf 30) but far closer than a neighbour (24 levels away)
          if (f > 0) expect(meanAbs(imgs[f].data, frameImage(ep, f - 1))).toBeGreaterThan(own + 4);
          if (f + 1 < e.length) expect(meanAbs(imgs[f].data, frameImage(ep, f + 1))).toBeGreaterThan(own + 4);
        }
      }
      // single-frame access goes through the same path
      const one = await ds.image('observation.images.top', ds.episodes[1].from + 3);
      expect(meanAbs(one.data, frameImage(1, 3))).toBeLessThan(6);
    },
  );
});

describe.runIf(!ffmpegAvailable())('without ffmpeg', () => {
  it('names what to install', async () => {
    await expect(
      DatasetWriter.create('/tmp/never', {
        fps: 10,
        imageStorage: 'video',
        features: { 'observation.images.top': { dtype: 'image', shape: [S, S, 3] } },
      }),
    ).rejects.toThrow(/apt-get install ffmpeg/);
  });
});
