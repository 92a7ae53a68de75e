import { deflateSync } from 'node:zlib';
import { decode as fastPngDecode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng, resizeBilinear } from './image-codec.js';
import { pngChunk as chunk } from './test-utils/images.js';

/** A PNG whose rows carry the given filter types over arbitrary bytes (every byte stream is a valid image). */
function pngWithFilters(w: number, h: number, bpp: 3 | 4, filters: number[], seed: number): Uint8Array {
  const raw = new Uint8Array(h * (w * bpp + 1));
  let s = seed;
  for (let y = 0; y < h; y++) {
    raw[y * (w * bpp + 1)] = filters[y % filters.length];
    for (let x = 1; x <= w * bpp; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      raw[y * (w * bpp + 1) + x] = s >>> 24;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = bpp === 3 ? 2 : 6;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

describe('PNG codec', () => {
  it.each([3, 4] as const)('fast path matches fast-png on all five row filters (%i bytes/pixel)', (bpp) => {
    const png = pngWithFilters(7, 10, bpp, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0], 42);
    const ours = decodeImage(png);
    const ref = fastPngDecode(png);
    const refRgb = new Uint8Array(7 * 10 * 3);
    for (let i = 0; i < 70; i++) for (let c = 0; c < 3; c++) refRgb[3 * i + c] = ref.data[bpp * i + c];
    expect([ours.width, ours.height]).toEqual([7, 10]);
    expect(Array.from(ours.data)).toEqual(Array.from(refRgb));
  });

  it('encodePng output decodes exactly with fast-png', () => {
    const data = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) & 255);
    const png = encodePng({ data, height: 3, width: 5 });
    const ref = fastPngDecode(png);
    expect([ref.width, ref.height, ref.channels, ref.depth]).toEqual([5, 3, 3, 8]);
    expect(Array.from(ref.data)).toEqual(Array.from(data));
  });

  it('rejects bytes that are not PNG or JPEG', () => {
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(/neither PNG nor JPEG/);
  });

  it('bilinear resize: 2x2 → 1x1 averages, identity keeps the image', () => {
    const img = {
      data: Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 60, 60, 60]),
      height: 2,
      width: 2,
    };
    expect(Array.from(resizeBilinear(img, 1, 1).data)).toEqual([90, 90, 90]);
    expect(resizeBilinear(img, 2, 2)).toBe(img);
  });
});
