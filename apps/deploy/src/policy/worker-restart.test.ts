import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer } from '../server/server.js';
import { npArray, packb } from '../test-utils/py-msgpack.js';
import { PolicyClient, restartDelay } from './policy-client.js';

const tiny = { kind: 'init', preset: 'tiny', seed: 0 } as const;
const opened: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
});

/** Kills the client's current worker thread, as an uncaught crash or an out-of-memory kill would. */
const killWorker = (p: PolicyClient) => (p as unknown as { worker: Worker }).worker.terminate();

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const body = JSON.stringify({
  language_instruction: 'x',
  proprio: '[0.1, 0.2, 0.3, 1]',
  image0: { __numpy__: Buffer.alloc(16 * 16 * 3).toString('base64'), dtype: '|u1', shape: [16, 16, 3] },
  image1: { __numpy__: Buffer.alloc(16 * 16 * 3).toString('base64'), dtype: '|u1', shape: [16, 16, 3] },
});

async function setup(restart: { maxRestarts: number; baseDelayMs: number }) {
  const policy = await PolicyClient.start({ source: tiny, restart });
  const server = await startServer(policy, { port: 0 });
  opened.push(policy, server);
  const base = `http://127.0.0.1:${server.port}`;
  const act = () => fetch(`${base}/act`, { method: 'POST', body });
  const healthz = async () => {
    const r = await fetch(`${base}/healthz`);
    return { status: r.status, text: await r.text() };
  };
  return { policy, server, act, healthz };
}

function wsRequest(): Uint8Array {
  const img = npArray(new Uint8Array(16 * 16 * 3), [16, 16, 3]);
  return packb({
    'observation/image': img,
    'observation/wrist_image': img,
    'observation/state': npArray(new Float64Array([0, 0, 0, 0]), [4]),
    prompt: 'x',
  });
}

describe('policy worker crash', () => {
  it('backs off exponentially, up to a ceiling', () => {
    expect([0, 1, 2, 3, 6].map((a) => restartDelay(a, 500, 10_000))).toEqual([500, 1000, 2000, 4000, 10_000]);
  });

  it('answers 503 while the worker is down, reports it on /healthz, restarts it, and serves again', async () => {
    const { policy, server, act, healthz } = await setup({ maxRestarts: 3, baseDelayMs: 300 });
    expect((await act()).status).toBe(200);
    // A websocket connection that lives through the crash.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    const frames: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data, binary) => frames.push({ data: data as Buffer, binary }));
    await until(() => frames.length === 1, 5000); // metadata

    const inFlight = act(); // killed mid-request: must get an answer, not hang
    await killWorker(policy);
    const r = await inFlight;
    expect([200, 503]).toContain(r.status); // it may have finished before the kill
    const down = await act();
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: string }).error).toMatch(
      /^unavailable: policy worker is restarting \(attempt 1 of 3\): worker exited with code 1; retry shortly$/,
    );
    const h = await healthz();
    expect(h.status).toBe(503);
    expect(h.text).toMatch(/^RESTARTING: policy worker restarting \(1 deaths in a row, 0 restarts so far\)/);
    ws.send(wsRequest());
    await until(() => frames.length === 2, 5000);
    expect(frames[1].binary).toBe(false);
    expect(frames[1].data.toString()).toMatch(/^unavailable: policy worker is restarting/);

    await until(async () => (await healthz()).status === 200, 20_000);
    expect((await healthz()).text).toBe('OK\n');
    expect((await act()).status).toBe(200);
    ws.send(wsRequest());
    await until(() => frames.length === 3, 5000);
    expect(frames[2].binary).toBe(true); // the same connection is served again
    expect(policy.health()).toMatchObject({ state: 'up', restarts: 1, consecutiveFailures: 0 });
    ws.close();
  }, 30_000);

  it('gives up after maxRestarts deaths in a row and stays down', async () => {
    const { policy, act, healthz } = await setup({ maxRestarts: 1, baseDelayMs: 50 });
    await killWorker(policy);
    await until(() => policy.health().state === 'up', 20_000); // restart 1 of 1
    await killWorker(policy); // dies again before any request succeeded
    expect(policy.health()).toMatchObject({ state: 'failed', consecutiveFailures: 2, restarts: 1 });
    await new Promise((r) => setTimeout(r, 300)); // no restart is scheduled
    expect(policy.health().state).toBe('failed');
    const h = await healthz();
    expect(h.status).toBe(503);
    expect(h.text).toMatch(
      /^DOWN: policy worker failed \(2 deaths in a row, 1 restarts so far\): worker exited/,
    );
    const r = await act();
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toMatch(
      /policy worker died 2 times in a row and is not restarted any more/,
    );
  }, 30_000);
});
