import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Body, BodyReader, BodyTooLargeError } from './body-reader.js';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/**
 * A server that hands each request to `onBody` and answers "ok", or the error message (400; 413 for an
 * oversize body, whose rest it drops, as the policy server does).
 */
async function serve(reader: BodyReader, onBody: (b: Body, req: IncomingMessage) => Promise<void> | void) {
  server = createServer((req, res) => {
    reader.read(req).then(
      async (b) => {
        await onBody(b, req);
        res.end('ok');
      },
      (err: Error) => {
        req.resume();
        res.statusCode = err instanceof BodyTooLargeError ? 413 : 400;
        res.end(err.message);
      },
    );
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

function post(port: number, body: Buffer, chunked = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

describe('BodyReader', () => {
  it('reuses one buffer, gives concurrent and chunked bodies their own, and refuses oversize ones', async () => {
    const reader = new BodyReader(1 << 20, 1 << 19);
    const seen: Array<{ buffer: ArrayBufferLike; ok: boolean }> = [];
    let hold: (() => void) | null = null;
    const expected = [
      bytes(300_000, 1),
      bytes(200_000, 2),
      bytes(100_000, 3),
      bytes(150_000, 4),
      bytes(100_000, 3),
    ];
    const port = await serve(reader, async (b) => {
      const k = seen.length;
      seen.push({ buffer: b.bytes.buffer, ok: false });
      // The first body is held (not released) while the second one is read.
      if (k === 0) await new Promise<void>((r) => (hold = r));
      seen[k].ok = b.bytes.equals(expected[k]);
      b.release();
    });
    const first = post(port, expected[0]);
    while (!hold) await new Promise((r) => setTimeout(r, 5));
    expect((await post(port, expected[1])).status).toBe(200);
    (hold as unknown as () => void)();
    expect((await first).status).toBe(200);
    expect(seen[1].buffer).not.toBe(seen[0].buffer); // concurrent: a buffer of its own
    expect((await post(port, expected[2])).status).toBe(200);
    expect(seen[2].buffer).toBe(seen[0].buffer); // released, then reused
    expect((await post(port, expected[3], true)).status).toBe(200);
    expect(seen[3].buffer).not.toBe(seen[0].buffer); // no content-length: a buffer of its own
    expect(seen.map((x) => x.ok)).toEqual([true, true, true, true]);
    // Oversize, chunked and declared: refused with an answer the client can read.
    expect(await post(port, bytes((1 << 20) + 1, 5), true)).toEqual({
      status: 413,
      text: 'body: larger than 1048576 bytes (maxMessageBytes)',
    });
    expect(await post(port, bytes((1 << 20) + 1, 5))).toEqual({
      status: 413,
      text: 'body: content-length 1048577 is larger than 1048576 bytes (maxMessageBytes)',
    });
    expect((await post(port, expected[4])).status).toBe(200); // and the shared buffer is free again
    expect(seen[4].buffer).toBe(seen[0].buffer);
  });
});
