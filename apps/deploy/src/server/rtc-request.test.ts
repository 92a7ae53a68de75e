import { Decoder } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PolicyClient } from '../policy/policy-client.js';
import { toJsonNumpy } from '../protocol/json-numpy.js';
import { ndarray } from '../protocol/ndarray.js';
import { npArray, packb } from '../test-utils/py-msgpack.js';
import { type PolicyServer, startServer } from './server.js';

// The tiny GR-1 preset: cameras front/wrist, 32×32 images, stateDim 3, armDim 3, horizon 5 → actions [5, 4].
let policy: PolicyClient;
let server: PolicyServer;
let url: string;

beforeAll(async () => {
  policy = await PolicyClient.start({ source: { kind: 'init', preset: 'tiny', seed: 1 } });
  server = await startServer(policy, { host: '127.0.0.1', port: 0 });
  url = `127.0.0.1:${server.port}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await policy?.close();
});

const img = (seed: number) =>
  toJsonNumpy(
    ndarray(
      Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7 + seed) & 255),
      [32, 32, 3],
    ),
  );

async function act(
  extra: Record<string, unknown> = {},
): Promise<{ status: number; body: { action?: number[][]; error?: string } }> {
  const res = await fetch(`http://${url}/act`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      language_instruction: 'open the drawer',
      proprio: [0.1, -0.2, 0.3, 0, 0],
      image0: img(1),
      image1: img(2),
      ...extra,
    }),
  });
  return { status: res.status, body: (await res.json()) as { action?: number[][]; error?: string } };
}

describe('the optional rtc request field', () => {
  it('/act: the reply starts with the first `delay` rows of prev_actions exactly; clients without it are unchanged', async () => {
    const plain = await act();
    expect(plain.status).toBe(200);
    const a = plain.body.action as number[][];
    expect(a.length).toBe(5);
    const again = await act({ rtc: null });
    expect(again.body.action).toEqual(a); // no field (or null): the plain chunk
    // the plan from step 2 on of an earlier reply, with a made-up offset so it differs from a fresh chunk
    const prev = a.slice(1).map((r) => r.map((v, j) => (j < 3 ? Math.fround(v + 0.25) : v)));
    const guided = await act({ rtc: { prev_actions: prev, delay: 2 } });
    expect(guided.status).toBe(200);
    const g = guided.body.action as number[][];
    expect(g.slice(0, 2)).toEqual(prev.slice(0, 2));
    expect(g[4]).toEqual(a[4]); // past the plan: the free prediction (regression blend)
  });

  it('/act: a malformed rtc field is a 400 naming it', async () => {
    const bad = await act({ rtc: { prev_actions: [[0, 0, 0, 0]], delay: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/rtc\/delay/);
    const shape = await act({ rtc: { prev_actions: [[0, 0]], delay: 0 } });
    expect(shape.body.error).toMatch(/rtc\/prev_actions: must be \[P, 4\]/);
  });

  it('openpi websocket: the same field as a msgpack map with an ndarray', async () => {
    const ws = new WebSocket(`ws://${url}`);
    const frames: Buffer[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (d) => {
      frames.push(d as Buffer);
      for (const w of waiters.splice(0)) w();
    });
    await new Promise((r) => ws.once('open', r));
    const next = async () => {
      while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
      return frames.shift() as Buffer;
    };
    await next(); // metadata
    const decoder = new Decoder({
      mapKeyConverter: (k) => (k instanceof Uint8Array ? new TextDecoder().decode(k) : (k as string)),
    });
    const request = (extra: Record<string, unknown>) => {
      const image = new Uint8Array(32 * 32 * 3).fill(9);
      return packb({
        'observation/image': npArray(image, [32, 32, 3]),
        'observation/wrist_image': npArray(image, [32, 32, 3]),
        'observation/state': npArray(new Float64Array([0.1, 0.2, 0.3, 0]), [4]),
        prompt: 'push',
        ...extra,
      });
    };
    const read = async () => {
      const m = decoder.decode(await next()) as { actions: { data: Uint8Array; shape: number[] } };
      const d = m.actions.data;
      return new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    };
    ws.send(request({}));
    const a = await read();
    const prev = Float32Array.from(a.subarray(4), (v) => v + 0.5); // rows 1–4
    ws.send(request({ rtc: { prev_actions: npArray(prev, [4, 4]), delay: 1 } }));
    const g = await read();
    expect(Array.from(g.subarray(0, 3))).toEqual(Array.from(prev.subarray(0, 3)));
    ws.close();
  });
});
