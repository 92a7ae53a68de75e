/**
 * Decompression-bomb guard for request images. A PNG or JPEG declares its size in its header, and a few
 * hundred KB of PNG can declare 12000×12000 pixels (432 MB decoded). Before anything is decoded:
 * - the header's width × height must be at most `maxPixels` (every image path: encoded buffers and raw
 *   arrays alike);
 * - a PNG must have exactly one IHDR (a decoder reading a later one would see other dimensions), and its
 *   compressed data must not inflate to more bytes than that IHDR allows. Checked with zlib's
 *   `maxOutputLength`, so memory stays bounded by the declared (capped) size even when the stream lies.
 * JPEG decoding (jpeg-js) refuses a second frame header itself, so the first SOF's size is the size.
 */

import { inflateSync } from 'node:zlib';
import { pngRawBytes } from '@anchor-refine/datasets';
import { ProtocolError } from '../protocol/ndarray.js';

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** 8K UHD (7680×4320, 33.2 MP): four times 4K, far above what a policy camera sends. */
export const DEFAULT_MAX_IMAGE_PIXELS = 7680 * 4320;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function checkPixels(height: number, width: number, field: string, maxPixels: number): void {
  if (height < 1 || width < 1)
    throw new ProtocolError(field, `the image declares ${width}×${height} pixels (zero-sized)`);
  if (height * width > maxPixels)
    throw new ProtocolError(
      field,
      `the image is ${width}×${height} = ${width * height} pixels, more than maxImagePixels ` +
        `(${maxPixels}); send a smaller image`,
    );
}

interface PngLayout {
  header: ImageHeader;
  /** bytes the image data must inflate to (filter bytes included) */
  rawBytes: number;
  idat: Uint8Array[];
}

function readPng(b: Uint8Array, field: string): PngLayout {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 8;
  let ihdr: { width: number; height: number; depth: number; colour: number; interlace: number } | null = null;
  const idat: Uint8Array[] = [];
  while (off + 8 <= b.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(b[off + 4], b[off + 5], b[off + 6], b[off + 7]);
    if (off + 12 + len > b.length) break; // truncated: the decoder reports it
    if (type === 'IHDR') {
      if (ihdr) throw new ProtocolError(field, 'the PNG has more than one IHDR chunk');
      if (off !== 8 || len !== 13) throw new ProtocolError(field, 'the PNG does not start with a valid IHDR');
      ihdr = {
        width: view.getUint32(off + 8),
        height: view.getUint32(off + 12),
        depth: b[off + 16],
        colour: b[off + 17],
        interlace: b[off + 20],
      };
    } else if (type === 'IDAT') idat.push(b.subarray(off + 8, off + 8 + len));
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  if (!ihdr) throw new ProtocolError(field, 'the PNG has no IHDR chunk');
  const channels = PNG_CHANNELS[ihdr.colour];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(ihdr.depth))
    throw new ProtocolError(field, `the PNG has colour type ${ihdr.colour} / bit depth ${ihdr.depth}`);
  const { width: W, height: H } = ihdr;
  const rawBytes = pngRawBytes(W, H, channels * ihdr.depth, ihdr.interlace);
  return { header: { format: 'png', width: W, height: H }, rawBytes, idat };
}

function readJpeg(b: Uint8Array, field: string): ImageHeader {
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) break;
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    const marker = b[i++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) break; // end of image / start of scan before any frame
    if (i + 2 > b.length) break;
    const len = (b[i] << 8) | b[i + 1];
    if (len < 2) break;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) {
      if (i + 7 > b.length) break;
      return { format: 'jpeg', height: (b[i + 3] << 8) | b[i + 4], width: (b[i + 5] << 8) | b[i + 6] };
    }
    i += len;
  }
  throw new ProtocolError(field, 'the JPEG has no readable frame header (SOF) before its image data');
}

const isPng = (b: Uint8Array) => b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * Checks an encoded image before it is decoded: format, declared size against `maxPixels`, and (PNG)
 * that the compressed data inflates to no more than the declared size. Returns the header.
 */
export function checkEncodedImage(b: Uint8Array, field: string, maxPixels: number): ImageHeader {
  if (isJpeg(b)) {
    const h = readJpeg(b, field);
    checkPixels(h.height, h.width, field, maxPixels);
    return h;
  }
  if (!isPng(b)) throw new ProtocolError(field, '1-D uint8 data is neither a PNG nor a JPEG');
  const png = readPng(b, field);
  checkPixels(png.header.height, png.header.width, field, maxPixels);
  if (png.idat.length > 0) {
    const data = png.idat.length === 1 ? png.idat[0] : Buffer.concat(png.idat);
    try {
      inflateSync(data, { maxOutputLength: png.rawBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new ProtocolError(
          field,
          `the PNG's data inflates to more than the ${png.rawBytes} bytes its ` +
            `${png.header.width}×${png.header.height} header allows`,
        );
      // Other zlib errors: the decoder reports them with its own message.
    }
  }
  return png.header;
}
