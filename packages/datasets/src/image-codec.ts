import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { decode as decodePngRaw } from 'fast-png';
import jpeg from 'jpeg-js';
import { ConfigError, DatasetError } from './errors.js';

/** A decoded image: HWC, RGB, uint8. */
export interface DecodedImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/**
 * Default cap on the width × height an image header may declare before anything is decoded:
 * 8192 × 8192 = 67,108,864 pixels. A PNG or JPEG states its size in its header: a few hundred bytes of
 * PNG can declare 12000 × 12000, and ~0.7 MB can really inflate to it (432 MB of RGB, more in the
 * decoders' buffers), so the header is checked first. Why 8192²: it is 8× 4K UHD and above every camera
 * and video format in use — 8K UHD 7680×4320 = 33.2 MP (also apps/deploy's default request cap, so an
 * image deploy accepts by default is never refused here) and DCI 8K 8192×4320 = 35.4 MP — while LeRobot
 * cameras are 96² … 1080p. At the cap one decode holds ≈ 200 MB of RGB output (up to ≈ 2 GB transient in
 * fast-png for 16-bit RGBA or in jpeg-js), which a training worker survives; a genuinely larger image needs
 * `maxImagePixels` raised explicitly.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 8192 * 8192;

/**
 * jpeg-js accounts ≈ 5 B per sample per component (Int32 coefficient blocks + line buffers), plus its
 * colour conversion and the RGB output: 21 B/pixel for YCbCr 4:4:4, 27 for CMYK. 32 leaves room for MCU
 * padding; edge-heavy geometries (a few pixels wide, very tall) cost more per pixel and are refused by
 * jpeg-js itself. Never below jpeg-js's own default (512 MB).
 */
const JPEG_BYTES_PER_PIXEL = 32;
const JPEG_MIN_MEMORY_MB = 512;

/** What an image header declares (read without decoding). */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** Where image bytes come from, named in every error (all optional; absent parts get placeholders). */
export interface ImageSource {
  /** file holding the bytes, e.g. `data/chunk-000/file-000.parquet` */
  file?: string;
  /** column / feature key, e.g. `observation.images.front` */
  field?: string;
  /** row or frame, e.g. `row 3 (episode 0, frame 3)` */
  frame?: string;
}

export interface DecodeImageOptions extends ImageSource {
  /** largest width × height a header may declare; default DEFAULT_MAX_IMAGE_PIXELS */
  maxImagePixels?: number;
  /**
   * refuse before decoding unless the header declares exactly this size; `source` says where the
   * expected size comes from (e.g. `features.observation.images.front.shape is [96,96,3]`)
   */
  expectSize?: { height: number; width: number; source: string };
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

type Fail = (detail: string) => never;

function failer(src: ImageSource): Fail {
  const at = src.frame ? `${src.frame}: ` : '';
  return (detail) => {
    throw new DatasetError(src.file ?? '(in-memory image)', src.field ?? '(image)', at + detail);
  };
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** channels per PNG colour type, and the bit depths the spec allows for it */
const PNG_COLOUR: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface PngIhdr extends ImageHeader {
  depth: number;
  colour: number;
  interlace: number;
}

/** The IHDR, which the spec puts first (right after the signature); nothing past it is read. */
function readPngIhdr(b: Uint8Array, fail: Fail): PngIhdr {
  if (b.length < 8 || PNG_SIG.some((v, i) => b[i] !== v)) fail('the PNG signature is damaged');
  if (b.length < 8 + 8 + 13)
    fail(`the PNG is truncated before the end of its IHDR header (${b.length} bytes)`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (type !== 'IHDR' || view.getUint32(8) !== 13)
    fail(`the PNG does not start with a 13-byte IHDR chunk (first chunk: ${JSON.stringify(type)})`);
  const h: PngIhdr = {
    format: 'png',
    width: view.getUint32(16),
    height: view.getUint32(20),
    depth: b[24],
    colour: b[25],
    interlace: b[28],
  };
  const c = PNG_COLOUR[h.colour];
  if (!c?.depths.includes(h.depth))
    fail(`the PNG header has colour type ${h.colour} with bit depth ${h.depth}, which PNG does not define`);
  if (h.interlace > 1) fail(`the PNG header has interlace method ${h.interlace} (0 or 1 expected)`);
  return h;
}

/** The first SOF frame header (jpeg-js refuses a second frame itself, so the first one's size is the size). */
function readJpegSof(b: Uint8Array, fail: Fail): ImageHeader {
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) fail(`the JPEG has no marker at byte ${i} (damaged before its frame header)`);
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    if (i >= b.length) break;
    const marker = b[i++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) fail('the JPEG has no frame header (SOF) before its image data');
    if (i + 2 > b.length) break;
    const len = (b[i] << 8) | b[i + 1];
    if (len < 2) fail(`the JPEG has a segment of length ${len} at byte ${i}`);
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) {
      if (len < 8) fail(`the JPEG's frame header (SOF) at byte ${i} is only ${len} bytes long`);
      if (i + 7 > b.length) break;
      return { format: 'jpeg', height: (b[i + 3] << 8) | b[i + 4], width: (b[i + 5] << 8) | b[i + 6] };
    }
    i += len;
  }
  return fail(`the JPEG is truncated before the end of its frame header (SOF) (${b.length} bytes)`);
}

/**
 * What a PNG or JPEG header declares, read without decoding anything. Throws a DatasetError (naming
 * `src`) for bytes that are neither, or whose header is truncated or malformed.
 */
export function readImageHeader(bytes: Uint8Array, src: ImageSource = {}): ImageHeader {
  const fail: Fail = failer(src);
  if (isPng(bytes)) {
    const { format, width, height } = readPngIhdr(bytes, fail);
    return { format, width, height };
  }
  if (isJpeg(bytes)) return readJpegSof(bytes, fail);
  return fail('image bytes are neither PNG nor JPEG');
}

/** `maxImagePixels` as given, or the default; a ConfigError unless it is an integer ≥ 1. */
export function resolveMaxImagePixels(v: number | undefined): number {
  if (v === undefined) return DEFAULT_MAX_IMAGE_PIXELS;
  if (!Number.isInteger(v) || v < 1)
    throw new ConfigError(
      'maxImagePixels',
      `is ${JSON.stringify(v)}; must be an integer ≥ 1 (width × height)`,
    );
  return v;
}

/** Refuses, before any decoding, a header whose size is zero, over the cap, or not the expected one. */
function checkDeclaredSize(h: ImageHeader, maxPixels: number, opts: DecodeImageOptions, fail: Fail): void {
  const what = h.format === 'png' ? 'PNG' : 'JPEG';
  const { width: W, height: H } = h;
  if (W < 1 || H < 1) fail(`the ${what} header declares ${W}×${H} pixels (zero-sized)`);
  if (W * H > maxPixels)
    fail(
      `the ${what} header declares ${W}×${H} = ${W * H} pixels, more than maxImagePixels (${maxPixels}); ` +
        'refused before decoding (raise maxImagePixels if the image is genuine)',
    );
  const e = opts.expectSize;
  if (e && (e.height !== H || e.width !== W)) fail(`image is ${H}x${W} but ${e.source}`);
}

/**
 * The chunks after the IHDR: the IDAT data, and the exact byte count it must inflate to (filter bytes
 * included, Adam7 passes summed). A second IHDR is refused: a decoder reading it would see other dimensions.
 */
function pngImageData(b: Uint8Array, h: PngIhdr, fail: Fail): { idat: Uint8Array; rawBytes: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [];
  let off = 8 + 12 + 13;
  while (off < b.length) {
    if (off + 8 > b.length) fail(`the PNG is truncated inside the chunk header at byte ${off}`);
    const len = view.getUint32(off);
    const type = String.fromCharCode(b[off + 4], b[off + 5], b[off + 6], b[off + 7]);
    if (off + 12 + len > b.length)
      fail(
        `the PNG is truncated: chunk ${JSON.stringify(type)} at byte ${off} declares ${len} bytes, ` +
          `${Math.max(0, b.length - off - 12)} remain`,
      );
    if (type === 'IHDR') fail('the PNG has more than one IHDR chunk');
    if (type === 'IDAT') parts.push(b.subarray(off + 8, off + 8 + len));
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  if (parts.length === 0) fail('the PNG has no IDAT (image data) chunk');
  const rawBytes = pngRawBytes(h.width, h.height, PNG_COLOUR[h.colour].channels * h.depth, h.interlace);
  return { idat: parts.length === 1 ? parts[0] : Buffer.concat(parts), rawBytes };
}

/**
 * Bytes a PNG's image data inflates to (one filter byte per row, rows of ⌈cols·bits/8⌉ bytes), summed
 * over the seven Adam7 passes when `interlace` is 1. `bitsPerPixel` = channels × bit depth.
 */
export function pngRawBytes(width: number, height: number, bitsPerPixel: number, interlace: number): number {
  const rowBytes = (cols: number) => 1 + Math.ceil((cols * bitsPerPixel) / 8);
  if (interlace !== 1) return height * rowBytes(width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const cols = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const rows = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (cols > 0 && rows > 0) total += rows * rowBytes(cols);
  }
  return total;
}

/**
 * Inflates the IDAT data with zlib's `maxOutputLength` at the size the (capped) header allows, so a stream
 * that lies about its size cannot take more memory than an honest one; exactly that size must come out.
 */
function inflatePng(idat: Uint8Array, rawBytes: number, h: PngIhdr, fail: Fail): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = inflateSync(idat, { maxOutputLength: rawBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      fail(
        `the PNG's image data inflates to more than the ${rawBytes} bytes its ${h.width}×${h.height} ` +
          'header allows (refused at that size)',
      );
    return fail(`the PNG's image data does not inflate: ${(err as Error).message}`);
  }
  if (raw.length < rawBytes)
    fail(`the PNG's image data is truncated (${raw.length} < ${rawBytes} bytes inflated)`);
  return raw;
}

/**
 * Fast path for the PNGs cameras produce (8-bit RGB or RGBA, not interlaced): native inflate + the five row
 * filters. `raw` is the inflated image data, exactly H rows of 1 + W·bpp bytes.
 * ~7x faster than fast-png's JS inflate on 96×96 frames, which dominated loader time.
 */
function decodePngRgb8(raw: Uint8Array, H: number, W: number, bpp: 3 | 4, fail: Fail): DecodedImage {
  const stride = W * bpp;
  const px = new Uint8Array(H * stride);
  for (let y = 0; y < H; y++) {
    const f = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const o = y * stride;
    const up = o - stride;
    // One tight loop per filter type (a = left, b = up, c = up-left); the first row has b = c = 0.
    if (f === 0) px.set(raw.subarray(src, src + stride), o);
    else if (f === 1) {
      for (let x = 0; x < bpp; x++) px[o + x] = raw[src + x];
      for (let x = bpp; x < stride; x++) px[o + x] = (raw[src + x] + px[o + x - bpp]) & 255;
    } else if (f === 2) {
      if (y === 0) px.set(raw.subarray(src, src + stride), o);
      else for (let x = 0; x < stride; x++) px[o + x] = (raw[src + x] + px[up + x]) & 255;
    } else if (f === 3) {
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? px[o + x - bpp] : 0;
        const b = y > 0 ? px[up + x] : 0;
        px[o + x] = (raw[src + x] + ((a + b) >> 1)) & 255;
      }
    } else if (f === 4) {
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? px[o + x - bpp] : 0;
        const b = y > 0 ? px[up + x] : 0;
        const c = x >= bpp && y > 0 ? px[up + x - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        px[o + x] = (raw[src + x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
    } else fail(`the PNG's row ${y} has unknown filter type ${f}`);
  }
  if (bpp === 3) return { data: px, height: H, width: W };
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    rgb[3 * i] = px[4 * i];
    rgb[3 * i + 1] = px[4 * i + 1];
    rgb[3 * i + 2] = px[4 * i + 2];
  }
  return { data: rgb, height: H, width: W };
}

/** Runs a decoder; anything it throws becomes a DatasetError naming the source. */
function guard<T>(fail: Fail, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    return fail(`cannot decode the ${what}: ${(err as Error).message ?? String(err)}`);
  }
}

/** Every PNG variant but the fast path's (palette, gray, 16-bit, interlaced), through fast-png. */
function decodePngOther(bytes: Uint8Array, fail: Fail): DecodedImage {
  const png = decodePngRaw(bytes);
  const { width, height } = png;
  const channels = png.channels;
  let src: ArrayLike<number> = png.data;
  if (png.palette) {
    // Indexed PNG: expand through the palette (fast-png leaves indices in data).
    const out = new Uint8Array(width * height * 3);
    const pal = png.palette;
    for (let i = 0; i < width * height; i++) {
      const c = pal[src[i]];
      if (!c) fail(`the PNG's pixel ${i} has palette index ${src[i]}, past its ${pal.length} colours`);
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    }
    return { data: out, height, width };
  }
  if (png.depth === 16) {
    const s16 = src;
    const s8 = new Uint8Array(s16.length);
    for (let i = 0; i < s16.length; i++) s8[i] = s16[i] >> 8;
    src = s8;
  } else if (png.depth !== 8) {
    fail(`the PNG's bit depth ${png.depth} is not supported (expected 8 or 16)`);
  }
  if (channels === 3 && src instanceof Uint8Array) return { data: src, height, width };
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (channels >= 3) {
      out[3 * i] = src[channels * i];
      out[3 * i + 1] = src[channels * i + 1];
      out[3 * i + 2] = src[channels * i + 2];
    } else {
      const g = src[channels * i];
      out[3 * i] = g;
      out[3 * i + 1] = g;
      out[3 * i + 2] = g;
    }
  }
  return { data: out, height, width };
}

/**
 * Decodes PNG (8/16-bit, gray/RGB/RGBA/palette, interlaced or not) or JPEG bytes to HWC RGB uint8.
 * Before anything is decoded the header is read and refused when it declares more than `maxImagePixels`
 * (default DEFAULT_MAX_IMAGE_PIXELS) or, with `expectSize`, another size; a PNG's data is inflated with a
 * zlib output limit at the declared size, and jpeg-js gets resolution and memory limits from the cap.
 * Every failure — other formats, truncated or malformed bytes, refused sizes, decoder errors — is a
 * DatasetError naming `opts.file` / `opts.field` / `opts.frame`.
 */
export function decodeImage(bytes: Uint8Array, opts: DecodeImageOptions = {}): DecodedImage {
  const maxPixels = resolveMaxImagePixels(opts.maxImagePixels);
  const fail: Fail = failer(opts);
  if (isPng(bytes)) {
    const h = readPngIhdr(bytes, fail);
    checkDeclaredSize(h, maxPixels, opts, fail);
    const { idat, rawBytes } = pngImageData(bytes, h, fail);
    const raw = inflatePng(idat, rawBytes, h, fail);
    if (h.depth === 8 && h.interlace === 0 && (h.colour === 2 || h.colour === 6))
      return decodePngRgb8(raw, h.height, h.width, h.colour === 2 ? 3 : 4, fail);
    // fast-png has no output limit of its own: its allocations follow the (now capped) header, and its
    // inflate gets data that was just shown to inflate to no more than the header allows.
    const img = guard(fail, 'PNG', () => decodePngOther(bytes, fail));
    if (img.width !== h.width || img.height !== h.height)
      fail(`the PNG decoded to ${img.width}×${img.height} but its header declares ${h.width}×${h.height}`);
    return img;
  }
  if (isJpeg(bytes)) {
    const h = readJpegSof(bytes, fail);
    checkDeclaredSize(h, maxPixels, opts, fail);
    const img = guard(fail, 'JPEG', () =>
      jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        maxResolutionInMP: maxPixels / 1e6,
        maxMemoryUsageInMB: Math.max(
          JPEG_MIN_MEMORY_MB,
          Math.ceil((maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20),
        ),
      }),
    );
    if (img.width !== h.width || img.height !== h.height)
      fail(`the JPEG decoded to ${img.width}×${img.height} but its header declares ${h.width}×${h.height}`);
    return { data: img.data, height: img.height, width: img.width };
  }
  return fail('image bytes are neither PNG nor JPEG');
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * PNG-encodes an HWC RGB uint8 image (what LeRobot embeds in parquet): 8-bit RGB, "Sub" row filter,
 * deflate by node's native zlib at level 1. fast-png's pure-JS deflate took ~3 ms per 96×96 frame, which
 * capped the recorder at ~150 frames/s with two cameras; decoding stays on fast-png (all PNG variants).
 */
export function encodePng(img: DecodedImage): Uint8Array {
  const { width: W, height: H, data } = img;
  const stride = W * 3;
  const raw = new Uint8Array(H * (stride + 1));
  for (let y = 0; y < H; y++) {
    const o = y * (stride + 1);
    const src = y * stride;
    raw[o] = 1; // filter type 1 = Sub: byte minus the same channel of the pixel to its left
    for (let x = 0; x < stride; x++) {
      raw[o + 1 + x] = (data[src + x] - (x >= 3 ? data[src + x - 3] : 0)) & 255;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, W);
  v.setUint32(4, H);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const idat = deflateSync(raw, { level: 1 });
  const parts = [
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bilinear resize (half-pixel centres, like OpenCV INTER_LINEAR without antialiasing) of HWC RGB uint8. */
export function resizeBilinear(img: DecodedImage, outH: number, outW: number): DecodedImage {
  if (img.height === outH && img.width === outW) return img;
  const out = new Uint8Array(outH * outW * 3);
  const sy = img.height / outH;
  const sx = img.width / outW;
  const src = img.data;
  const W = img.width;
  for (let y = 0; y < outH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(Math.floor(fy), img.height - 1);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.min(Math.floor(fx), W - 1);
      const x1 = Math.min(x0 + 1, W - 1);
      const wx = fx - x0;
      const o = (y * outW + x) * 3;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * W + x0) * 3 + c];
        const b = src[(y0 * W + x1) * 3 + c];
        const d = src[(y1 * W + x0) * 3 + c];
        const e = src[(y1 * W + x1) * 3 + c];
        const top = a + (b - a) * wx;
        const bot = d + (e - d) * wx;
        out[o + c] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return { data: out, height: outH, width: outW };
}

/** CHW → HWC for datasets that store images channel-first. */
export function chwToHwc(data: Uint8Array, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    out[3 * i] = data[i];
    out[3 * i + 1] = data[plane + i];
    out[3 * i + 2] = data[2 * plane + i];
  }
  return out;
}
