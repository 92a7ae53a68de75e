import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from './decode.js';
import { encodeSafetensors } from './encode.js';
import { loadSafetensors, readSafetensorsHeader } from './file.js';

/** A file image: u64 LE header length, header text, data bytes. */
function assemble(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

describe('safetensors: hostile headers cost linear time', () => {
  it('refuses deeply nested JSON at once, naming the limit (was quadratic: 24 KB took seconds and 1 GB)', () => {
    for (const depth of [129, 12_000, 200_000]) {
      const header = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      let message = '';
      const ms = timed(() => {
        try {
          decodeSafetensors(assemble(header), { source: 'deep.safetensors' });
        } catch (err) {
          message = (err as Error).message;
        }
      });
      expect(message).toBe(
        'safetensors deep.safetensors: header nests JSON deeper than 128 levels (a safetensors header needs 3; corrupt or hostile file)',
      );
      expect(ms).toBeLessThan(500);
    }
  });

  it('nesting up to the limit is parsed and then refused for what it is', () => {
    const header = `{"a":${'['.repeat(127)}${']'.repeat(127)}}`;
    expect(() => decodeSafetensors(assemble(header))).toThrow('entry must be an object');
  });

  it('many containers at moderate depth (a few MB) stay fast', () => {
    const inner = `{"x":${'['.repeat(100)}${']'.repeat(100)}}`;
    const header = `{"__metadata__":{},"a":[${Array.from({ length: 10_000 }, () => inner).join(',')}]}`;
    expect(header.length).toBeGreaterThan(2_000_000);
    const ms = timed(() =>
      expect(() => decodeSafetensors(assemble(header))).toThrow('entry must be an object'),
    );
    expect(ms).toBeLessThan(2000);
  });

  it('a duplicate key is still found deep in the header, with its path', () => {
    const header = '{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":{"y":[{"k":1,"k":2}]}}}';
    expect(() => decodeSafetensors(assemble(header))).toThrow('tensor "w": duplicate field "k" (in x.y.[])');
  });
});

describe('safetensors: only regular files are read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nn-safetensors-hostile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync('/dev/zero'))('refuses /dev/zero instead of reading forever', async () => {
    await expect(loadSafetensors('/dev/zero')).rejects.toThrow(
      'safetensors /dev/zero: is a character device; a safetensors file must be a regular file',
    );
    await expect(readSafetensorsHeader('/dev/zero')).rejects.toThrow('is a character device');
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expect(loadSafetensors(fifo)).rejects.toThrow('is a FIFO (named pipe)');
    await expect(readSafetensorsHeader(fifo)).rejects.toThrow('is a FIFO (named pipe)');
  });

  it('refuses a directory', async () => {
    await expect(loadSafetensors(dir)).rejects.toThrow('is a directory');
  });

  it('readSafetensorsHeader gives names, dtypes and shapes checked against the file size', async () => {
    const path = join(dir, 'w.safetensors');
    const bytes = encodeSafetensors({
      b: { dtype: 'F32', shape: [3], data: new Uint8Array(12) },
      a: { dtype: 'F16', shape: [2, 2], data: new Uint8Array(8) },
    });
    await writeFile(path, bytes);
    const header = await readSafetensorsHeader(path);
    const byName = [...header.entries].sort((x, y) => x.name.localeCompare(y.name));
    expect(byName.map(({ name, dtype, shape }) => ({ name, dtype, shape }))).toEqual([
      { name: 'a', dtype: 'F16', shape: [2, 2] },
      { name: 'b', dtype: 'F32', shape: [3] },
    ]);
    await writeFile(path, bytes.subarray(0, bytes.length - 4)); // truncated data
    await expect(readSafetensorsHeader(path)).rejects.toThrow('run past the end of the data buffer');
  });
});
