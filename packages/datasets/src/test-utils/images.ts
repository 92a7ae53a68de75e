/**
 * Hand-built image bytes for the decoder tests: PNG chunks with real CRCs, PNGs whose header lies about
 * their size (decompression bombs), and a fixed set of small ordinary PNGs and JPEGs in every variant the
 * decoder handles, made by fast-png / jpeg-js / our own encoder (not by the decoder under test).
 */
import { constants, crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { encode as fastPngEncode } from 'fast-png';
import jpeg from 'jpeg-js';
import { encodePng } from '../image-codec.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** One PNG chunk: length, type, data, CRC-32 over type + data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** IHDR data: width, height, bit depth, colour type, compression 0, filter 0, interlace. */
export function ihdr(width: number, height: number, depth = 8, colour = 2, interlace = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = depth;
  b[9] = colour;
  b[12] = interlace;
  return b;
}

/** signature + IHDR + one IDAT per entry of `idat` + IEND. */
export function pngFile(header: Buffer, idat: Uint8Array[]): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    ...idat.map((d) => pngChunk('IDAT', d)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * A zlib stream that inflates to `rows` × `rowBytes` zero bytes (every row: filter 0, black pixels),
 * assembled without ever holding the inflated data: one row is deflated with a full flush (byte-aligned,
 * no back-references across it), that segment is repeated, then a final empty block and the Adler-32.
 * 12000 rows of a 12000-pixel RGB image: 432 MB inflated from ~0.5 MB.
 */
export function zeroRowsZlib(rows: number, rowBytes: number): Buffer {
  const segment = deflateRawSync(Buffer.alloc(rowBytes), { finishFlush: constants.Z_FULL_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0)); // one empty final block
  const total = rows * rowBytes;
  const adler = Buffer.alloc(4);
  // Adler-32 of n zero bytes: a = 1, b = n mod 65521.
  adler.writeUInt32BE(((total % 65521) * 65536 + 1) >>> 0, 0);
  const body = Buffer.alloc(segment.length * rows);
  for (let r = 0; r < rows; r++) segment.copy(body, r * segment.length);
  return Buffer.concat([Buffer.from([0x78, 0x01]), body, final, adler]);
}

/** Deterministic bytes (LCG), so the sample images are the same on every run. */
function pattern(n: number, seed: number, max = 255): number[] {
  const out = new Array<number>(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) % (max + 1);
  }
  return out;
}

function rgbaOf(rgb: number[]): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0; i < rgb.length / 3; i++) {
    out.set(rgb.slice(3 * i, 3 * i + 3), 4 * i);
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * Small ordinary images, one per decoder path: the RGB8/RGBA8 fast path, and through fast-png gray,
 * gray+alpha, 16-bit, palette and Adam7-interlaced PNGs; JPEG through jpeg-js.
 */
export function sampleImages(): Record<string, Uint8Array> {
  const [w, h] = [13, 7];
  const n = w * h;
  const png = (channels: number, depth: 8 | 16, seed: number, interlace?: 'Adam7') =>
    fastPngEncode(
      {
        width: w,
        height: h,
        channels,
        depth,
        data:
          depth === 8
            ? Uint8Array.from(pattern(n * channels, seed))
            : Uint16Array.from(pattern(n * channels, seed, 65535)),
      },
      interlace ? { interlace } : {},
    );
  const palette = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [200, 100, 50],
  ];
  return {
    'png rgb8 (encodePng)': encodePng({ data: Uint8Array.from(pattern(n * 3, 1)), height: h, width: w }),
    'png rgb8 (fast-png)': png(3, 8, 2),
    'png rgba8': png(4, 8, 3),
    'png gray8': png(1, 8, 4),
    'png gray+alpha8': png(2, 8, 5),
    'png rgb16': png(3, 16, 6),
    'png rgba16': png(4, 16, 7),
    'png gray16': png(1, 16, 8),
    'png rgb8 adam7': png(3, 8, 9, 'Adam7'),
    'png gray8 adam7': png(1, 8, 10, 'Adam7'),
    'png palette8': fastPngEncode({
      width: w,
      height: h,
      channels: 1,
      depth: 8,
      palette,
      data: Uint8Array.from(pattern(n, 11, 3)),
    }),
    'png rgb8 two IDATs': (() => {
      const raw = new Uint8Array(h * (w * 3 + 1));
      raw.set(pattern(raw.length, 12));
      for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = y % 5; // every row filter
      const z = deflateSync(raw);
      return pngFile(ihdr(w, h), [z.subarray(0, 10), z.subarray(10)]);
    })(),
    'jpeg 13x7 q90': new Uint8Array(
      jpeg.encode({ width: w, height: h, data: rgbaOf(pattern(n * 3, 13)) }, 90).data,
    ),
    'jpeg 32x24 q75': new Uint8Array(
      jpeg.encode({ width: 32, height: 24, data: rgbaOf(pattern(32 * 24 * 3, 14)) }, 75).data,
    ),
  };
}

/** A real small JPEG with its (first) SOF0 frame header patched to declare `width` × `height`. */
export function jpegDeclaring(width: number, height: number): Uint8Array {
  const b = new Uint8Array(jpeg.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4) }, 90).data);
  for (let i = 2; i + 9 < b.length; ) {
    if (b[i] !== 0xff) throw new Error(`jpegDeclaring: no marker at ${i}`);
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    if (marker === 0xc0) {
      b[i + 5] = height >> 8;
      b[i + 6] = height & 255;
      b[i + 7] = width >> 8;
      b[i + 8] = width & 255;
      return b;
    }
    i += 2 + len;
  }
  throw new Error('jpegDeclaring: no SOF0');
}
