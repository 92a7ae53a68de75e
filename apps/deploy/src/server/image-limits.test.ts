import { constants, deflateRawSync, inflateSync } from 'node:zlib';
import { encodePng } from '@anchor-refine/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyClient } from '../policy/policy-client.js';
import { checkEncodedImage } from './image-limits.js';
import { type PolicyServer, startServer } from './server.js';

let policy: PolicyClient;
let server: PolicyServer; // default cap (7680×4320)
let small: PolicyServer; // maxImagePixels 100×100

beforeAll(async () => {
  policy = await PolicyClient.start({ source: { kind: 'init', preset: 'tiny', seed: 0 } });
  server = await startServer(policy, { port: 0 });
  small = await startServer(policy, { port: 0, maxImagePixels: 100 * 100 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await small?.close();
  await policy?.close();
});

/**
 * A zlib stream of `n` zero bytes, built from one repeated 1 MiB deflate block (full flush: no
 * references across blocks), so a 432 MB bomb takes no time or memory to make.
 */
function zerosZlib(n: number): Buffer {
  const unit = 1 << 20;
  const block = deflateRawSync(Buffer.alloc(unit), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const tail = deflateRawSync(Buffer.alloc(n % unit), { level: 9 });
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((n % 65521) << 16) | 1) >>> 0); // Adler-32 of zeros: a = 1, b = n mod 65521
  return Buffer.concat([Buffer.of(0x78, 0xda), ...Array(Math.floor(n / unit)).fill(block), tail, adler]);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]); // CRC unchecked here
}

/** An 8-bit RGB PNG declaring width × height whose IDAT inflates to `rawBytes` zeros. */
function png(width: number, height: number, rawBytes = height * (1 + width * 3)): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', zerosZlib(rawBytes)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A baseline JPEG header (SOI, SOF0) declaring width × height, then SOS and EOI. */
function jpegHeader(width: number, height: number): Buffer {
  const sof = Buffer.of(
    0xff,
    0xc0,
    0,
    11,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    1,
    1,
    0x11,
    0,
  );
  return Buffer.concat([
    Buffer.of(0xff, 0xd8),
    Buffer.of(0xff, 0xe0, 0, 4, 0, 0),
    sof,
    Buffer.of(0xff, 0xd9),
  ]);
}

const jnp = (data: Uint8Array, dtype: string, shape: number[]) =>
  JSON.stringify({ __numpy__: Buffer.from(data).toString('base64'), dtype, shape });

async function act(s: PolicyServer, image0: string): Promise<{ status: number; error?: string }> {
  const body = {
    language_instruction: 'x',
    proprio: jnp(new Uint8Array(new Float32Array([0, 0, 0, 1]).buffer), '<f4', [4]),
    image0,
    image1: jnp(new Uint8Array(16 * 16 * 3), '|u1', [16, 16, 3]),
  };
  const r = await fetch(`http://127.0.0.1:${s.port}/act`, { method: 'POST', body: JSON.stringify(body) });
  const j = (await r.json()) as { error?: string };
  return { status: r.status, ...(j.error ? { error: j.error } : {}) };
}

const encoded = (b: Uint8Array) => jnp(b, '|u1', [b.length]);

describe('image decompression bombs', () => {
  it('builds real bombs (the helper inflates to what it claims)', () => {
    const n = 3 * (1 << 20) + 5;
    expect(inflateSync(zerosZlib(n)).equals(Buffer.alloc(n))).toBe(true);
  });

  it('refuses a 420 KB PNG declaring 12000×12000 before decoding it, with flat memory', async () => {
    const bomb = png(12000, 12000);
    expect(bomb.length).toBeLessThan(500_000);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const r = await act(server, encoded(bomb));
    const ms = performance.now() - t0;
    expect(r.status).toBe(400);
    expect(r.error).toBe(
      'bad request: image0: the image is 12000×12000 = 144000000 pixels, more than maxImagePixels ' +
        '(33177600); send a smaller image',
    );
    expect(ms).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 * 1024);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });

  it('refuses a JPEG header over the cap, and a PNG whose data inflates past its header', async () => {
    expect((await act(server, encoded(jpegHeader(9000, 9000)))).error).toMatch(
      /image0: the image is 9000×9000 = 81000000 pixels, more than maxImagePixels/,
    );
    // 8×8 declared, 20 MB of data: a decoder that trusts the stream would inflate it all.
    expect((await act(server, encoded(png(8, 8, 20_000_000)))).error).toBe(
      "bad request: image0: the PNG's data inflates to more than the 200 bytes its 8×8 header allows",
    );
    // A second IHDR (a decoder that reads the last one would see 12000×12000).
    const small8 = png(8, 8);
    const big = png(12000, 12000);
    const twoHeaders = Buffer.concat([small8.subarray(0, 33), big.subarray(8, 33), small8.subarray(33)]);
    expect(() => checkEncodedImage(twoHeaders, 'f', 1e6)).toThrow(/f: the PNG has more than one IHDR chunk/);
  });

  it('applies the configured cap to encoded images and raw arrays alike', async () => {
    const img = (w: number, h: number) => {
      const d = new Uint8Array(w * h * 3);
      for (let i = 0; i < d.length; i++) d[i] = (i * 13) & 255;
      return { data: d, width: w, height: h };
    };
    expect((await act(small, encoded(encodePng(img(100, 100))))).status).toBe(200);
    expect((await act(small, encoded(encodePng(img(101, 100))))).error).toMatch(
      /101×100 = 10100 pixels, more than maxImagePixels \(10000\)/,
    );
    const raw = img(120, 90);
    expect((await act(small, jnp(raw.data, '|u1', [90, 120, 3]))).error).toMatch(
      /image0: the image is 120×90 = 10800 pixels/,
    );
    expect((await act(small, jnp(img(80, 90).data, '|u1', [90, 80, 3]))).status).toBe(200);
  });
});
