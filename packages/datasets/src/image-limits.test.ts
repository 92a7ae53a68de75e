/**
 * Decompression-bomb and malformed-header hardening of `decodeImage` and the reader's image path: the
 * header is read first and a declared size over `maxImagePixels` is refused before anything is allocated;
 * broken bytes are a DatasetError naming the source; ordinary images decode exactly as before.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DatasetError } from './errors.js';
import {
  DEFAULT_MAX_IMAGE_PIXELS,
  type DecodeImageOptions,
  decodeImage,
  readImageHeader,
} from './image-codec.js';
import { openDataset } from './reader.js';
import { buildFixtureV3, type FixtureOptions } from './test-utils/fixture.js';
import {
  ihdr,
  jpegDeclaring,
  PNG_SIGNATURE,
  pngChunk,
  pngFile,
  sampleImages,
  zeroRowsZlib,
} from './test-utils/images.js';
import { tempDir } from './test-utils/synthetic.js';

const CAP = 8192 * 8192; // 67108864
const MB = 2 ** 20;
/** a complete zlib stream of 16 zero bytes: far less data than any header below claims */
const tinyIdat = deflateSync(new Uint8Array(16));

/** Runs decodeImage and reports what it threw, how long it took and how much the RSS grew meanwhile. */
function attempt(bytes: Uint8Array, opts?: DecodeImageOptions) {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let err: unknown = null;
  try {
    decodeImage(bytes, opts);
  } catch (e) {
    err = e;
  }
  return { err, ms: performance.now() - t0, rssGrowthMB: (process.memoryUsage().rss - rss0) / MB };
}

describe('decodeImage refuses decompression bombs before decoding', () => {
  it('the default cap is 8192 × 8192', () => {
    expect(DEFAULT_MAX_IMAGE_PIXELS).toBe(CAP);
  });

  const bombs: [string, () => Uint8Array][] = [
    ['RGB8 PNG (fast path), tiny IDAT', () => pngFile(ihdr(12000, 12000), [tinyIdat])],
    // The real thing: 672 KB whose IDAT inflates to the full 432 MB the header promises.
    [
      'RGB8 PNG whose IDAT really inflates to 432 MB',
      () => pngFile(ihdr(12000, 12000), [zeroRowsZlib(12000, 36001)]),
    ],
    ['16-bit RGBA PNG (fast-png path), tiny IDAT', () => pngFile(ihdr(12000, 12000, 16, 6), [tinyIdat])],
    ['Adam7-interlaced gray PNG, tiny IDAT', () => pngFile(ihdr(12000, 12000, 8, 0, 1), [tinyIdat])],
    ['JPEG whose SOF declares 12000×12000', () => jpegDeclaring(12000, 12000)],
  ];
  it.each(bombs)('%s: DatasetError naming the size and the cap, < 1 s, RSS < 200 MB', (_, make) => {
    const bytes = make();
    expect(bytes.length).toBeLessThan(1 * MB);
    const { err, ms, rssGrowthMB } = attempt(bytes, {
      file: 'data/chunk-000/file-000.parquet',
      field: 'observation.images.front',
      frame: 'row 7',
    });
    expect(err).toBeInstanceOf(DatasetError);
    const de = err as DatasetError;
    expect(de.file).toBe('data/chunk-000/file-000.parquet');
    expect(de.field).toBe('observation.images.front');
    expect(de.message).toMatch(
      /^data\/chunk-000\/file-000\.parquet: observation\.images\.front: row 7: the (PNG|JPEG) header declares 12000×12000 = 144000000 pixels, more than maxImagePixels \(67108864\)/,
    );
    expect(ms).toBeLessThan(1000);
    expect(rssGrowthMB).toBeLessThan(200);
  });

  it('without a source the message still names the size and the cap', () => {
    expect(() => decodeImage(pngFile(ihdr(12000, 12000), [tinyIdat]))).toThrow(
      /^\(in-memory image\): \(image\): the PNG header declares 12000×12000 = 144000000 pixels, more than maxImagePixels \(67108864\)/,
    );
  });

  it('a PNG whose data inflates past its (small) header is stopped at the declared size', () => {
    // 16×16 RGB allows 16 · (1 + 48) = 784 bytes; this stream would inflate to 256 MB of zeros.
    const bytes = pngFile(ihdr(16, 16), [zeroRowsZlib(4096, 65536)]);
    const { err, ms, rssGrowthMB } = attempt(bytes);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/inflates to more than the 784 bytes its 16×16 header allows/);
    expect(ms).toBeLessThan(1000);
    expect(rssGrowthMB).toBeLessThan(200);
  });

  it('the cap is configurable: maxImagePixels', () => {
    const img = sampleImages();
    const png = img['png rgb8 (encodePng)']; // 13×7 = 91 pixels
    expect(decodeImage(png, { maxImagePixels: 91 }).width).toBe(13);
    expect(() => decodeImage(png, { maxImagePixels: 90 })).toThrow(
      /the PNG header declares 13×7 = 91 pixels, more than maxImagePixels \(90\)/,
    );
    expect(() => decodeImage(img['jpeg 32x24 q75'], { maxImagePixels: 767 })).toThrow(
      /the JPEG header declares 32×24 = 768 pixels, more than maxImagePixels \(767\)/,
    );
    // 12000² passes the header check when allowed; its tiny IDAT is then caught as truncated, not decoded.
    expect(() => decodeImage(pngFile(ihdr(12000, 12000), [tinyIdat]), { maxImagePixels: 2e8 })).toThrow(
      /image data is truncated \(16 < 432012000 bytes inflated\)/,
    );
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => decodeImage(png, { maxImagePixels: bad })).toThrow(ConfigError);
  });

  it('expectSize refuses another size before decoding', () => {
    const bytes = pngFile(ihdr(8000, 8000), [tinyIdat]); // under the cap, but not what was expected
    expect(() =>
      decodeImage(bytes, {
        frame: 'row 2',
        expectSize: { height: 4, width: 4, source: 'the feature is 4x4' },
      }),
    ).toThrow(/row 2: image is 8000x8000 but the feature is 4x4$/);
  });

  it('readImageHeader reads the size without decoding', () => {
    expect(readImageHeader(pngFile(ihdr(12000, 9000), [tinyIdat]))).toEqual({
      format: 'png',
      width: 12000,
      height: 9000,
    });
    expect(readImageHeader(jpegDeclaring(640, 480))).toEqual({ format: 'jpeg', width: 640, height: 480 });
  });
});

describe('decodeImage: truncated or garbage bytes are a clear DatasetError', () => {
  const good = pngFile(ihdr(4, 4), [deflateSync(new Uint8Array(4 * 13))]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['not an image', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), /neither PNG nor JPEG/],
    [
      'PNG signature damaged',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0]),
      /signature is damaged/,
    ],
    [
      'PNG cut inside its IHDR',
      Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(4, 4)).subarray(0, 12)]),
      /truncated before the end of its IHDR header \(20 bytes\)/,
    ],
    [
      'PNG whose first chunk is not IHDR',
      Buffer.concat([PNG_SIGNATURE, pngChunk('tEXt', new Uint8Array(13)), pngChunk('IHDR', ihdr(4, 4))]),
      /does not start with a 13-byte IHDR chunk \(first chunk: "tEXt"\)/,
    ],
    [
      'PNG header with an undefined colour type',
      pngFile(ihdr(4, 4, 8, 5), [tinyIdat]),
      /colour type 5 with bit depth 8/,
    ],
    [
      'PNG header with an undefined bit depth',
      pngFile(ihdr(4, 4, 3, 2), [tinyIdat]),
      /colour type 2 with bit depth 3/,
    ],
    ['PNG header with interlace method 2', pngFile(ihdr(4, 4, 8, 2, 2), [tinyIdat]), /interlace method 2/],
    ['PNG declaring 0×4', pngFile(ihdr(0, 4), [tinyIdat]), /declares 0×4 pixels \(zero-sized\)/],
    [
      'PNG with a second IHDR declaring another size',
      Buffer.concat([
        PNG_SIGNATURE,
        pngChunk('IHDR', ihdr(4, 4)),
        pngChunk('IHDR', ihdr(12000, 12000)),
        pngChunk('IDAT', tinyIdat),
      ]),
      /more than one IHDR chunk/,
    ],
    [
      'PNG without IDAT',
      Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(4, 4)), pngChunk('IEND', new Uint8Array(0))]),
      /no IDAT/,
    ],
    [
      'PNG cut inside its IDAT',
      good.subarray(0, good.length - 20),
      /truncated: chunk "IDAT" at byte 33 declares/,
    ],
    [
      'PNG whose IDAT is not zlib',
      pngFile(ihdr(4, 4), [Uint8Array.from([1, 2, 3, 4, 5])]),
      /does not inflate/,
    ],
    ['PNG whose IDAT is too short', pngFile(ihdr(4, 4), [tinyIdat]), /truncated \(16 < 52 bytes inflated\)/],
    [
      'PNG with an unknown row filter',
      pngFile(ihdr(4, 4), [deflateSync(new Uint8Array(52).fill(9))]),
      /row 0 has unknown filter type 9/,
    ],
    ['JPEG with only SOI and EOI', Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), /no frame header \(SOF\)/],
    [
      'JPEG cut inside its SOF',
      (() => {
        const j = jpegDeclaring(8, 8);
        let i = 2;
        while (j[i + 1] !== 0xc0) i += 2 + ((j[i + 2] << 8) | j[i + 3]);
        return j.subarray(0, i + 6);
      })(),
      /truncated before the end of its frame header/,
    ],
    [
      'JPEG with garbage where a marker belongs',
      Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34, 0x56]),
      /no marker at byte 8/,
    ],
  ];
  it.each(cases)('%s', (_, bytes, message) => {
    const { err } = attempt(bytes, { file: 'f.parquet', field: 'cam', frame: 'row 0' });
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toBe('f.parquet');
    expect((err as DatasetError).field).toBe('cam');
    expect((err as Error).message).toMatch(/^f\.parquet: cam: row 0: /);
    expect((err as Error).message).toMatch(message);
  });

  it('every prefix and 300 seeded byte flips of real PNGs and JPEGs: a DatasetError or an image, never a crash', () => {
    const samples = sampleImages();
    let s = 12345;
    const rand = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    for (const key of [
      'png rgb8 (encodePng)',
      'png rgba16',
      'png palette8',
      'png rgb8 adam7',
      'jpeg 13x7 q90',
    ]) {
      const bytes = samples[key];
      const variants: Uint8Array[] = [];
      for (let n = 0; n < bytes.length; n++) variants.push(bytes.subarray(0, n));
      for (let k = 0; k < 300; k++) {
        const v = Uint8Array.from(bytes);
        for (let f = 0; f <= rand(3); f++) v[rand(v.length)] = rand(256);
        variants.push(v);
      }
      for (const v of variants) {
        try {
          const img = decodeImage(v, { file: key, field: 'cam' });
          expect(img.data.length).toBe(img.width * img.height * 3);
          expect(img.width * img.height).toBeLessThanOrEqual(CAP);
        } catch (e) {
          if (!(e instanceof DatasetError)) throw new Error(`${key}: ${(e as Error).stack}`);
          expect(e.file).toBe(key);
        }
      }
    }
  });
});

describe('ordinary images decode bit-identically to before', () => {
  // sha256 of decodeImage(...).data, recorded with the decoder as it was before the header checks.
  const GOLDEN: Record<string, [number, number, string]> = {
    'png rgb8 (encodePng)': [13, 7, '9d2ac78b8cb4203c07a42f8b8aae0d8a67d3d8e6cca33f5e7664ad2b56374f51'],
    'png rgb8 (fast-png)': [13, 7, 'e41aa79c63c8faf692cb71f41202aa9c5bc0892215aa4f8d8b75a60a73f60eb3'],
    'png rgba8': [13, 7, '26c7ad9e64a54f3dc7c24356b6e6ebdc3e834bfd61bfc1e8325317d2a1dfd297'],
    'png gray8': [13, 7, '9e033a237d973ba68c452e7176dd63d0c4d3625b1cc162abed4d62ced9565d7b'],
    'png gray+alpha8': [13, 7, '0ed4b3a7fe754a357f13cce27582d63ee4b80331d3d2c3a856566e317eac4e43'],
    'png rgb16': [13, 7, 'f4833f94891b79846e444b5219ad3c48819c58b7d27ace1aff19988d27e21a4f'],
    'png rgba16': [13, 7, '35456c4efc1adf237e0bf3d793cd7ab471d78102596862fe2f0ae64d9490a5b8'],
    'png gray16': [13, 7, '1509c099c962189581de701d4218325c5cd2ff1acf5595f7976229d980e5824c'],
    'png rgb8 adam7': [13, 7, '880364fd7f43db6ca60a552e1e84d25b8da976b8ae6136d0530f1addab8f75d9'],
    'png gray8 adam7': [13, 7, '83e7bb38275cdb3c6dbf1b52da78c98e4f6bd8cd02da0166666d0f0520f2fa0a'],
    'png palette8': [13, 7, 'ac53607d2c00ed98dc5da889aa3cf8701bf495aee1ccf04105b54c103544136b'],
    'png rgb8 two IDATs': [13, 7, '5a2ceae186d6e6011df9b63f5243b673a1daf60c2ea5ebd8769e328dba4294ca'],
    'jpeg 13x7 q90': [13, 7, 'f1404fe8b8281340b227bc22227a0520572de0aaac8d9cf7e996b269c0099c83'],
    'jpeg 32x24 q75': [32, 24, 'bb21f8797d162f96283cc6175b30d18dbae674e73339a9b3cdb561ad07c0022c'],
  };
  const samples = sampleImages();
  it('the sample set is the golden set', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(GOLDEN).sort());
  });
  it.each(Object.entries(GOLDEN))('%s', (key, [w, h, sha]) => {
    const img = decodeImage(samples[key]);
    expect([img.width, img.height, img.data.length]).toEqual([w, h, w * h * 3]);
    expect(createHash('sha256').update(img.data).digest('hex')).toBe(sha);
  });
});

describe('the reader checks stored image headers against the cap and the feature shape', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });
  async function v3(opts: FixtureOptions): Promise<string> {
    const { dir, cleanup } = await tempDir('image-limits-');
    cleanups.push(cleanup);
    await buildFixtureV3(dir, opts);
    return dir;
  }
  const FILE = 'data/chunk-000/file-000.parquet';
  const CAM = 'observation.images.cam'; // 4×4 PNG per row

  it('a bomb in an image column names the file, the column and the frame; other rows still decode', async () => {
    const root = await v3({
      camBytes: (g) =>
        g === 1
          ? pngFile(ihdr(12000, 12000), [zeroRowsZlib(12000, 36001)])
          : g === 2
            ? pngFile(ihdr(8000, 8000), [tinyIdat])
            : undefined,
    });
    const ds = await openDataset(root);
    const rss0 = process.memoryUsage().rss;
    const err = await ds.image(CAM, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toBe(FILE);
    expect((err as DatasetError).field).toBe(CAM);
    expect((err as Error).message).toMatch(
      /^data\/chunk-000\/file-000\.parquet: observation\.images\.cam: row 1 \(episode 0, frame 1\): the PNG header declares 12000×12000 = 144000000 pixels, more than maxImagePixels \(67108864\)/,
    );
    // Under the cap but not the feature's 4×4: refused on the header, before any decoding.
    await expect(ds.image(CAM, 2)).rejects.toThrow(
      /row 2 \(episode 0, frame 2\): image is 8000x8000 but features\.observation\.images\.cam\.shape is \[4,4,3\]$/,
    );
    expect((process.memoryUsage().rss - rss0) / MB).toBeLessThan(200);
    expect((await ds.image(CAM, 0)).width).toBe(4);
    expect((await ds.image(CAM, 3)).width).toBe(4);
  });

  it('openDataset({ maxImagePixels }) sets the cap; a bad value is a ConfigError', async () => {
    const root = await v3({});
    const ds = await openDataset(root, { maxImagePixels: 15 });
    await expect(ds.image(CAM, 0)).rejects.toThrow(
      /observation\.images\.cam: row 0 \(episode 0, frame 0\): the PNG header declares 4×4 = 16 pixels, more than maxImagePixels \(15\)/,
    );
    await expect(ds.image('observation.images.jpg', 4)).rejects.toThrow(
      /row 4 \(episode 1, frame 1\): the JPEG header declares 8×8 = 64 pixels, more than maxImagePixels \(15\)/,
    );
    expect(
      (await (await openDataset(root, { maxImagePixels: 64 })).image('observation.images.jpg', 4)).width,
    ).toBe(8);
    const bad = await openDataset(root, { maxImagePixels: 0 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).field).toBe('maxImagePixels');
  });
});
