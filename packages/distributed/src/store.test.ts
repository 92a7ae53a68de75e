import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStore, type Store } from './store.js';
import { goneKey, TcpStoreClient, TcpStoreServer } from './tcp-store.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

async function exercise(a: Store, b: Store) {
  // get waits for a set from another client
  const pending = b.get('k', 5000);
  await a.set('k', enc('v1'));
  expect(dec(await pending)).toBe('v1');
  // binary values survive
  await a.set('bin', new Uint8Array([0, 255, 10, 13]));
  expect(Array.from(await b.get('bin', 1000))).toEqual([0, 255, 10, 13]);
  // wait on several keys
  const w = b.wait(['x', 'y'], 5000);
  await a.set('x', enc('1'));
  await a.set('y', enc('2'));
  await w;
  // add is atomic-increment from 0
  expect(await a.add('n', 2)).toBe(2);
  expect(await b.add('n', 3)).toBe(5);
  expect((await b.multiGet(['k', 'absent', 'n'])).map(dec)).toEqual(['v1', undefined, '5']);
  await expect(b.get('never', 150)).rejects.toThrow(/timed out after 150 ms/);
}

describe('TcpStore', () => {
  it('set/get/wait/add/multiGet between two clients, and a get that times out', async () => {
    const server = await TcpStoreServer.listen(0, '127.0.0.1');
    const a = await TcpStoreClient.connect('127.0.0.1', server.port, 0, 5000);
    const b = await TcpStoreClient.connect('127.0.0.1', server.port, 1, 5000);
    try {
      await exercise(a, b);
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  });

  it('records gone/<rank> when a client drops without bye, not after close()', async () => {
    const server = await TcpStoreServer.listen(0, '127.0.0.1');
    const watcher = await TcpStoreClient.connect('127.0.0.1', server.port, 0, 5000);
    const polite = await TcpStoreClient.connect('127.0.0.1', server.port, 1, 5000);
    const rude = await TcpStoreClient.connect('127.0.0.1', server.port, 2, 5000);
    try {
      await polite.close();
      (rude as unknown as { socket: { destroy(): void } }).socket.destroy();
      await watcher.wait([goneKey(2)], 2000);
      expect((await watcher.multiGet([goneKey(1)]))[0]).toBeUndefined();
    } finally {
      await watcher.close();
      await server.close();
    }
  });

  it('a client whose server went away rejects its pending and later calls', async () => {
    const server = await TcpStoreServer.listen(0, '127.0.0.1');
    const c = await TcpStoreClient.connect('127.0.0.1', server.port, 1, 5000);
    const pending = c.get('never', 10_000);
    await server.close();
    await expect(pending).rejects.toThrow(/connection closed|ECONNRESET/);
    await expect(c.set('k', enc('v'))).rejects.toThrow(/store 127\.0\.0\.1:\d+/);
  });

  it('connect gives up after its timeout with the address in the message', async () => {
    await expect(TcpStoreClient.connect('127.0.0.1', 1, 0, 300)).rejects.toThrow(
      /127\.0\.0\.1:1: could not connect within 300 ms/,
    );
  });
});

describe('FileStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'filestore-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the same operations over a shared folder', async () => {
    await exercise(new FileStore(dir, 5), new FileStore(dir, 5));
  });
});
