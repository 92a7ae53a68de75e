import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PolicyClient } from '../policy/policy-client.js';
import { checkAccess, exposureWarning } from './access.js';
import { type PolicyServer, startServer } from './server.js';

let policy: PolicyClient;
let open: PolicyServer; // default config
let locked: PolicyServer; // API key + one allowed origin

beforeAll(async () => {
  policy = await PolicyClient.start({ source: { kind: 'init', preset: 'tiny', seed: 0 } });
  open = await startServer(policy, { port: 0 });
  locked = await startServer(policy, {
    port: 0,
    apiKey: 'k3y-abc',
    allowOrigins: ['http://localhost:3000'],
  });
}, 120_000);

afterAll(async () => {
  await open?.close();
  await locked?.close();
  await policy?.close();
});

/** Opens a websocket; resolves 'open' (after the metadata frame) or the HTTP status of the refusal. */
function upgrade(server: PolicyServer, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { headers });
    ws.once('message', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const act = (server: PolicyServer, headers: Record<string, string>) =>
  fetch(`http://127.0.0.1:${server.port}/act`, { method: 'POST', headers, body: '{}' });

describe('bind address', () => {
  it('listens on 127.0.0.1 unless a host is given', () => {
    expect(open.config.host).toBe('127.0.0.1');
    expect(open.host).toBe('127.0.0.1');
  });

  it('warns when bound beyond loopback without an API key', () => {
    expect(exposureWarning('0.0.0.0', null)).toMatch(/listening on 0\.0\.0\.0 without an API key/);
    expect(exposureWarning('192.168.1.5', null)).toMatch(/without an API key/);
    expect(exposureWarning('0.0.0.0', 'k')).toBeNull();
    expect(exposureWarning('127.0.0.1', null)).toBeNull();
    expect(exposureWarning('::1', null)).toBeNull();
  });
});

describe('API key', () => {
  it('accepts exactly "Api-Key <key>" and "Bearer <key>"', () => {
    const cfg = { apiKey: 'k3y-abc', allowOrigins: [] };
    expect(checkAccess({ authorization: 'Api-Key k3y-abc' }, cfg)).toBeNull();
    expect(checkAccess({ authorization: 'Bearer k3y-abc' }, cfg)).toBeNull();
    for (const a of ['api-key k3y-abc', 'Token k3y-abc', 'Bearer  k3y-abc', 'Bearer k3y-ab', 'k3y-abc', ''])
      expect(checkAccess({ authorization: a }, cfg)?.status).toBe(401);
    expect(checkAccess({}, cfg)?.message).toMatch(/missing API key/);
  });

  it('is checked on the websocket upgrade (openpi client header) and on /act, not on /healthz', async () => {
    expect(await upgrade(locked, {})).toBe(401);
    expect(await upgrade(locked, { authorization: 'Api-Key wrong' })).toBe(401);
    expect(await upgrade(locked, { authorization: 'Api-Key k3y-abc' })).toBe('open');
    expect(await upgrade(locked, { authorization: 'Bearer k3y-abc' })).toBe('open');
    const r = await act(locked, {});
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await r.json()) as { error: string }).error).toMatch(/missing API key/);
    // With the key the request reaches the handler (and fails there: the body has no images).
    const ok = await act(locked, { authorization: 'Bearer k3y-abc' });
    expect(ok.status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${locked.port}/healthz`)).status).toBe(200);
  });

  it('comes from ANCHOR_REFINE_API_KEY in the CLI, which binds 127.0.0.1 by default', async () => {
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--conditions=@anchor-refine/source',
        '--import',
        'tsx',
        cli,
        'serve',
        '--init',
        'tiny',
        '--port',
        '0',
      ],
      { env: { ...process.env, ANCHOR_REFINE_API_KEY: 'from-env' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.stderr.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.once('exit', (code) => reject(new Error(`cli exited ${code}: ${out}`)));
      });
      expect(line).not.toMatch(/warning/);
      const m = /on 127\.0\.0\.1:(\d+) \(API key required\)/.exec(line);
      expect(m, line).not.toBeNull();
      const port = Number(m?.[1]);
      const fake = { port } as PolicyServer;
      expect(await upgrade(fake, {})).toBe(401);
      expect(await upgrade(fake, { authorization: 'Api-Key from-env' })).toBe('open');
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});

describe('Origin', () => {
  it('refuses browser upgrades and requests from origins not allowed; native clients send none', async () => {
    const key = { authorization: 'Api-Key k3y-abc' };
    expect(await upgrade(locked, { ...key, origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(locked, { ...key, origin: 'http://localhost:3000' })).toBe('open');
    expect((await act(locked, { ...key, origin: 'http://evil.example' })).status).toBe(403);
    // Default: no browser origin at all, key or not.
    expect(await upgrade(open, { origin: 'http://localhost:8000' })).toBe(403);
    expect(await upgrade(open, {})).toBe('open');
    expect(checkAccess({ origin: 'https://x.example' }, { apiKey: null, allowOrigins: ['*'] })).toBeNull();
  });
});
