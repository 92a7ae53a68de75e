/**
 * The key-value store of rendezvous and liveness (gloo's Store interface plus `add`, `multiGet`), and
 * FileStore: the same over a folder every rank can reach (one file per key, written atomically).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Store {
  set(key: string, value: Uint8Array): Promise<void>;
  /** Waits until `key` exists (at most timeoutMs), then returns its value. */
  get(key: string, timeoutMs: number): Promise<Uint8Array>;
  /** Waits until every key exists (at most timeoutMs). */
  wait(keys: readonly string[], timeoutMs: number): Promise<void>;
  /** Atomically adds `delta` to the integer at `key` (0 when absent) and returns the new value. */
  add(key: string, delta: number): Promise<number>;
  /** The values of `keys` that exist now (no waiting); absent ones are undefined. */
  multiGet(keys: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  close(): Promise<void>;
}

export const timeoutError = (what: string, timeoutMs: number) =>
  new Error(`store ${what} timed out after ${timeoutMs} ms`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Key → file name: hex-encoded, so any key is a safe single path component. */
const fileOf = (dir: string, key: string) => join(dir, `k-${Buffer.from(key, 'utf8').toString('hex')}`);

export class FileStore implements Store {
  private seq = 0;
  constructor(
    readonly dir: string,
    private readonly pollMs = 20,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private read(key: string): Uint8Array | undefined {
    try {
      return new Uint8Array(readFileSync(fileOf(this.dir, key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const tmp = join(this.dir, `.tmp-${process.pid}-${this.seq++}`);
    writeFileSync(tmp, value);
    renameSync(tmp, fileOf(this.dir, key));
  }

  async get(key: string, timeoutMs: number): Promise<Uint8Array> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = this.read(key);
      if (v) return v;
      if (Date.now() >= end) throw timeoutError(`get '${key}' (${this.dir})`, timeoutMs);
      await sleep(this.pollMs);
    }
  }

  async wait(keys: readonly string[], timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (const k of keys) await this.get(k, Math.max(1, end - Date.now()));
  }

  /** Atomic across processes through an exclusive lock file (O_EXCL), retried until free. */
  async add(key: string, delta: number): Promise<number> {
    const lock = `${fileOf(this.dir, key)}.lock`;
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        writeFileSync(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (Date.now() >= end) throw timeoutError(`add '${key}' (lock ${lock} held)`, 30_000);
        await sleep(this.pollMs);
      }
    }
    try {
      const cur = this.read(key);
      const next = (cur ? Number(Buffer.from(cur).toString('utf8')) : 0) + delta;
      await this.set(key, Buffer.from(String(next)));
      return next;
    } finally {
      rmSync(lock, { force: true });
    }
  }

  async multiGet(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return keys.map((k) => this.read(k));
  }

  async close(): Promise<void> {}
}
