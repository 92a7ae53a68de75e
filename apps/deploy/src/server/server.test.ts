import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Decoder } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PolicyClient } from '../policy/policy-client.js';
import { b, npArray, packb } from '../test-utils/py-msgpack.js';
import { type PolicyServer, startServer } from './server.js';

// The tiny preset: cameras front/wrist, 32×32 images, stateDim 3, armDim 3, horizon 5.
let policy: PolicyClient;
let server: PolicyServer;
let url: string;

beforeAll(async () => {
  policy = await PolicyClient.start({ source: { kind: 'init', preset: 'tiny', seed: 0 } });
  server = await startServer(policy, { host: '127.0.0.1', port: 0 });
  url = `127.0.0.1:${server.port}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await policy?.close();
});

/** Decodes like openpi's Python client: bin keys allowed, read back as text. */
const pyDecoder = new Decoder({
  mapKeyConverter: (k) => (k instanceof Uint8Array ? `bin:${new TextDecoder().decode(k)}` : (k as string)),
});

function image(h: number, w: number, seed: number): Uint8Array {
  const d = new Uint8Array(h * w * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 31 + seed) & 0xff;
  return d;
}

function liberoRequest(prompt = 'pick up the cube', size = 224): Uint8Array {
  return packb({
    'observation/image': npArray(image(size, size, 1), [size, size, 3]),
    'observation/wrist_image': npArray(image(size, size, 2), [size, size, 3]),
    'observation/state': npArray(new Float64Array([0.1, -0.2, 0.3, 0, 0, 0, 0.02, -0.02]), [8]),
    prompt,
  });
}

class Client {
  readonly frames: Array<{ data: Buffer; binary: boolean }> = [];
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      this.frames.push({ data: data as Buffer, binary });
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async connect(): Promise<Client> {
    const ws = new WebSocket(`ws://${url}`);
    const c = new Client(ws);
    await new Promise((res, rej) => {
      ws.once('open', res);
      ws.once('error', rej);
    });
    return c;
  }
  async next(): Promise<{ data: Buffer; binary: boolean }> {
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.frames.shift() as { data: Buffer; binary: boolean };
  }
}

describe('openpi websocket', () => {
  it('sends a msgpack metadata frame, then answers a LIBERO request with bin-keyed float32 actions', async () => {
    const c = await Client.connect();
    const meta = await c.next();
    expect(meta.binary).toBe(true);
    const m = pyDecoder.decode(meta.data) as Record<string, unknown>;
    expect(m.cameras).toEqual(['front', 'wrist']);
    expect(m.horizon).toBe(5);

    c.ws.send(liberoRequest());
    const r = await c.next();
    expect(r.binary).toBe(true);
    const reply = pyDecoder.decode(r.data) as Record<string, Record<string, unknown>>;
    const actions = reply.actions;
    // The array map must use bin keys, or Python's decoder would not rebuild it.
    expect(Object.keys(actions).sort()).toEqual(['bin:__ndarray__', 'bin:data', 'bin:dtype', 'bin:shape']);
    expect(actions['bin:dtype']).toBe('<f4');
    expect(actions['bin:shape']).toEqual([5, 4]);
    const bytes = actions['bin:data'] as Uint8Array;
    const values = new Float32Array(Uint8Array.from(bytes).buffer);
    expect(values.length).toBe(20);
    expect(values.every(Number.isFinite)).toBe(true);
    // LIBERO gripper convention: −1 open, +1 close.
    for (let t = 0; t < 5; t++) expect([-1, 1]).toContain(values[t * 4 + 3]);
    expect(reply.policy_timing.infer_ms).toBeGreaterThan(0);
    expect(typeof reply.server_timing.prev_total_ms).toBe('number');
    // The worker round trip includes the model time; decoding is reported apart from both.
    expect(reply.server_timing.infer_ms as number).toBeGreaterThanOrEqual(
      reply.policy_timing.infer_ms as number,
    );
    expect(reply.server_timing.decode_ms as number).toBeGreaterThan(0);
    c.ws.close();
  });

  it('answers a malformed message with a text frame naming the field, and keeps the connection', async () => {
    const c = await Client.connect();
    await c.next();
    const bad = packb({
      'observation/image': npArray(image(8, 8, 1), [8, 8, 3]),
      'observation/wrist_image': npArray(image(8, 8, 1), [8, 8, 3]),
      'observation/state': npArray(new Float32Array([1, 2]), [2]),
      prompt: 'x',
    });
    c.ws.send(bad);
    const e = await c.next();
    expect(e.binary).toBe(false);
    expect(e.data.toString()).toMatch(/observation\/state: has 2 values; the policy needs at least 3/);
    // A wrong byte count in an array.
    c.ws.send(
      packb({
        'observation/image': new Map([
          [b('__ndarray__'), true],
          [b('data'), b('abc')],
          [b('dtype'), '|u1'],
          [b('shape'), [2, 2, 3]],
        ]),
      }),
    );
    expect((await c.next()).data.toString()).toMatch(/observation\/image\.data: holds 3 bytes/);
    c.ws.send('not binary');
    expect((await c.next()).data.toString()).toMatch(/binary msgpack/);
    // Still serving on the same connection.
    c.ws.send(liberoRequest());
    expect((await c.next()).binary).toBe(true);
    expect(c.closed).toBe(false);
    c.ws.close();
  });

  it('survives 10,000 malformed messages with flat memory and still answers', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const c = await Client.connect();
    await c.next();
    const junk = (i: number): Uint8Array => {
      switch (i % 5) {
        case 0:
          return Uint8Array.from({ length: 1 + (i % 64) }, (_, k) => (k * 97 + i) & 0xff); // random bytes
        case 1:
          return packb([1, 2, 3]); // not a map
        case 2:
          return packb({ 'observation/image': npArray(new Float32Array(12), [2, 2, 3]) }); // wrong dtype
        case 3:
          return packb({ 'observation/state': 'x' }); // missing images
        default:
          return Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff); // map32 claiming 4G entries
      }
    };
    const round = async (from: number, n: number) => {
      for (let i = from; i < from + n; i += 8) {
        const k = Math.min(8, from + n - i);
        for (let j = 0; j < k; j++) c.ws.send(junk(i + j));
        for (let j = 0; j < k; j++) expect((await c.next()).binary).toBe(false);
      }
    };
    await round(0, 1000); // warm up
    gc();
    const before = process.memoryUsage().heapUsed;
    const errorsBefore = server.stats.errors;
    await round(1000, 9000);
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(server.stats.errors - errorsBefore).toBe(9000);
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
    c.ws.send(liberoRequest());
    expect((await c.next()).binary).toBe(true);
    c.ws.close();
  }, 120_000);

  it('refuses a flood of pipelined requests beyond the per-connection limit without dropping the connection', async () => {
    const c = await Client.connect();
    await c.next();
    // Small requests written in one TCP write, so the server reads all 12 in one chunk and decides on
    // them before any reply can come back from the worker (full-size images arrive in many chunks, and
    // an early reply then makes room for a 9th request: a timing-dependent count).
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (let i = 0; i < 12; i++) c.ws.send(liberoRequest('pick up the cube', 16));
    socket.uncork();
    const frames = [];
    for (let i = 0; i < 12; i++) frames.push(await c.next());
    expect(frames.filter((f) => f.binary).length).toBe(8);
    expect(frames.filter((f) => !f.binary)[0].data.toString()).toMatch(/more than 8 requests in flight/);
    c.ws.close();
  });
});

describe('HTTP', () => {
  it('GET /healthz', async () => {
    const r = await fetch(`http://${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('OK\n');
  });

  const jnp = (data: Uint8Array | Float32Array, dtype: string, shape: number[]) =>
    JSON.stringify({
      __numpy__: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      dtype,
      shape,
    });

  it('POST /act with json-numpy strings returns `action` [H][D] in the CALVIN gripper convention', async () => {
    const body = {
      language_instruction: 'open the drawer',
      proprio: jnp(new Float32Array([0.1, 0.2, 0.3, 1]), '<f4', [4]),
      image0: jnp(image(200, 200, 3), '|u1', [200, 200, 3]),
      image1: jnp(image(64, 48, 4), '|u1', [64, 48, 3]),
      domain_id: 2,
      steps: 10,
    };
    const r = await fetch(`http://${url}/act`, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status).toBe(200);
    const j = (await r.json()) as {
      action: number[][];
      policy_timing: { infer_ms: number };
      server_timing: { infer_ms: number; decode_ms: number };
    };
    expect(j.action.length).toBe(5);
    for (const row of j.action) {
      expect(row.length).toBe(4);
      expect([-1, 1]).toContain(row[3]);
    }
    expect(j.server_timing.infer_ms).toBeGreaterThanOrEqual(j.policy_timing.infer_ms);
    expect(j.server_timing.decode_ms).toBeGreaterThan(0);
  });

  it('POST /act with large images gives the same answers and errors on the fast path', async () => {
    const post = async (image0: unknown) => {
      const body = {
        language_instruction: 'open the drawer',
        proprio: jnp(new Float32Array([0.1, 0.2, 0.3, 1]), '<f4', [4]),
        image0,
        image1: jnp(image(64, 48, 4), '|u1', [64, 48, 3]),
      };
      const r = await fetch(`http://${url}/act`, { method: 'POST', body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as { action?: number[][]; error?: string } };
    };
    const good = jnp(image(200, 200, 3), '|u1', [200, 200, 3]);
    const a = await post(good);
    // The same image as a json-numpy object, not a string (never on the fast path): the same actions.
    const b = await post(JSON.parse(good));
    expect(a.status).toBe(200);
    expect(b.json.action).toEqual(a.json.action);
    // A corrupt base64 character and a wrong byte count name the field, as on the plain path.
    const bad = good.replace(/("__numpy__":\s*"....)./, '$1!');
    expect(await post(bad)).toEqual({
      status: 400,
      json: { error: 'bad request: image0.__numpy__: must be a base64 string' },
    });
    const short = jnp(image(200, 199, 3), '|u1', [200, 200, 3]);
    expect((await post(short)).json.error).toMatch(/image0\.data: holds 119400 bytes/);
  });

  it('POST /act with a bad field gets 400 naming it, and the server keeps serving', async () => {
    const r = await fetch(`http://${url}/act`, {
      method: 'POST',
      body: JSON.stringify({
        language_instruction: 'x',
        proprio: '[1,2,3]',
        image0: '{"__numpy__": "!!", "dtype": "|u1", "shape": [1]}',
      }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(
      /image0\.__numpy__: must be a base64 string/,
    );
    const r2 = await fetch(`http://${url}/act`, { method: 'POST', body: '{nope' });
    expect(r2.status).toBe(400);
    expect((await fetch(`http://${url}/healthz`)).status).toBe(200);
  });
});
