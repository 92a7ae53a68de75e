import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PolicyClient } from '../policy/policy-client.js';
import { type PolicyServer, startServer } from './server.js';

// Short limits so that each case takes well under a second (the defaults are 10 s / 60 s / 5 s / 30 s).
const LIMITS = {
  port: 0,
  maxMessageBytes: 64 * 1024,
  headersTimeoutMs: 300,
  requestTimeoutMs: 600,
  keepAliveTimeoutMs: 300,
  wsPingIntervalMs: 200,
};

let policy: PolicyClient;
let server: PolicyServer;

beforeAll(async () => {
  policy = await PolicyClient.start({ source: { kind: 'init', preset: 'tiny', seed: 0 } });
  server = await startServer(policy, LIMITS);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await policy?.close();
});

/** A raw TCP client on 127.0.0.1 that records what comes back and when the server closes. */
class Raw {
  readonly socket: Socket;
  received = '';
  closedAt: number | null = null;
  reset = false;
  readonly t0 = performance.now();
  private waiters: Array<() => void> = [];
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d) => {
      this.received += d.toString('latin1');
      this.wake();
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') this.reset = true;
    });
    this.socket.on('close', () => {
      this.closedAt = performance.now() - this.t0;
      this.wake();
    });
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Waits until `done()` holds or `ms` pass. */
  async until(done: () => boolean, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!done() && performance.now() < end)
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
  }
  write(s: string | Buffer): boolean {
    return !this.socket.destroyed && this.socket.write(s);
  }
  get status(): number | null {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return m ? Number(m[1]) : null;
  }
  get json(): { error?: string } {
    return JSON.parse(this.received.slice(this.received.indexOf('\r\n\r\n') + 4));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP limits', () => {
  it('answers 413 from a huge Content-Length at once, without waiting for the body', async () => {
    const c = new Raw(server.port);
    c.write(
      'POST /act HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n',
    );
    await c.until(() => c.received.includes('}'), 2000);
    expect(c.status).toBe(413);
    expect(performance.now() - c.t0).toBeLessThan(250); // not the 600 ms request timeout
    expect(c.json.error).toBe(
      `bad request: body: content-length 99999999999 is larger than ${64 * 1024} bytes (maxMessageBytes)`,
    );
    c.socket.destroy();
  });

  it('answers a chunked body over the limit with the JSON 413, not a reset', async () => {
    const c = new Raw(server.port);
    c.write('POST /act HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    // Keep sending well past the limit (up to 1 MiB) while the answer comes back.
    for (let i = 0; i < 64 && c.status === null; i++) {
      c.write(`${chunk.length.toString(16)}\r\n`);
      c.write(chunk);
      c.write('\r\n');
      await sleep(2);
    }
    await c.until(() => c.received.includes('}'), 2000);
    expect(c.reset).toBe(false);
    expect(c.status).toBe(413);
    expect(c.json.error).toBe(`bad request: body: larger than ${64 * 1024} bytes (maxMessageBytes)`);
    c.socket.destroy();
    // The server still serves.
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });

  it('times out a client that sends its headers slowly (slowloris)', async () => {
    const c = new Raw(server.port);
    c.write('POST /act HTTP/1.1\r\nHost: x\r\n');
    for (let i = 0; i < 40 && c.closedAt === null; i++) {
      c.write(`X-Slow-${i}: a\r\n`);
      await sleep(50);
    }
    await c.until(() => c.closedAt !== null, 1500);
    expect(c.closedAt).not.toBeNull();
    expect(c.closedAt as number).toBeLessThan(1200); // headersTimeout 300 ms + one check interval
    expect(c.status).toBe(408);
  });

  it('times out a body that trickles in, and an idle keep-alive connection', async () => {
    const c = new Raw(server.port);
    c.write('POST /act HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    for (let i = 0; i < 40 && c.closedAt === null; i++) {
      c.write('{"x":1} ');
      await sleep(50);
    }
    await c.until(() => c.closedAt !== null, 1500);
    expect(c.closedAt as number).toBeLessThan(1500); // requestTimeout 600 ms + one check interval
    expect(c.status).toBe(408);

    const idle = new Raw(server.port);
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.until(() => idle.closedAt !== null, 2000);
    expect(idle.status).toBe(200);
    expect(idle.closedAt as number).toBeLessThan(1500); // keepAliveTimeout 300 ms (+ Node's 1 s margin)
  });

  it('keeps an idle websocket that answers pings past the HTTP timeouts, drops one that does not', async () => {
    const open = (autoPong: boolean) =>
      new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { autoPong });
        const t0 = performance.now();
        const closed = new Promise<number>((r) => ws.once('close', () => r(performance.now() - t0)));
        ws.once('message', () => resolve({ ws, closed }));
        ws.once('error', reject);
      });
    const live = await open(true);
    const dead = await open(false);
    expect(await dead.closed).toBeLessThan(1000); // two ping intervals of 200 ms
    await sleep(900); // past requestTimeout and headersTimeout
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    live.ws.close();
  });
});
