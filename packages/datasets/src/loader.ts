import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { FromWorker, ToWorker } from './loader-protocol.js';
import { type OpenOptions, openDataset } from './reader.js';
import { type SampleBatch, Sampler, type Split } from './sampler.js';
import type { SamplerConfig } from './sampler-config.js';

export interface DataLoaderOptions {
  /** worker threads assembling batches (≥1); 0 assembles in this thread (no parallelism, same batches) */
  workers?: number;
  /** batches requested ahead of the consumer; default 2 per worker, enough to hide one batch of latency */
  prefetch?: number;
  open?: OpenOptions;
}

interface Pending {
  resolve: (b: SampleBatch) => void;
  reject: (e: Error) => void;
}

/**
 * Starts the worker: the built `loader-worker.js` next to this file, or, in source mode (this module is a
 * `.ts` file run through tsx or Vitest), a tiny bootstrap that registers tsx's loader in the worker thread
 * before importing `loader-worker.ts` (Node 20 workers do not inherit the parent's module hooks).
 */
function startWorker(): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./loader-worker.js', self));
  // tsx's ESM API (`tsx/esm/api` under the import condition) registers its loader in the worker thread.
  const req = createRequire(self);
  const pkgPath = req.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const api = new URL(pkg.exports['./esm/api'].import.default, pathToFileURL(pkgPath)).href;
  const entry = new URL('./loader-worker.ts', self).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * Prefetching loader: batches are assembled by `Sampler.batch` in worker threads (image decoding is the
 * expensive part) and yielded in exactly the order of `Sampler.epochBatches`, so for a given seed it
 * produces the same batches as the in-thread `sampler.epoch(...)`.
 */
export class DataLoader {
  private workers: Worker[] = [];
  private ready: Promise<void>[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  readonly prefetch: number;
  readonly numWorkers: number;

  private constructor(
    readonly sampler: Sampler,
    root: string,
    config: SamplerConfig,
    opts: DataLoaderOptions,
  ) {
    this.numWorkers = opts.workers ?? 2;
    this.prefetch = opts.prefetch ?? Math.max(2, 2 * this.numWorkers);
    for (let i = 0; i < this.numWorkers; i++) {
      const w = startWorker();
      let markReady: () => void = () => {};
      let markFailed: (e: Error) => void = () => {};
      this.ready.push(
        new Promise<void>((res, rej) => {
          markReady = res;
          markFailed = rej;
        }),
      );
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') markReady();
        else if (m.type === 'batch') {
          this.pending.get(m.id)?.resolve(m.batch);
          this.pending.delete(m.id);
        } else {
          const err = new Error(m.message);
          err.name = m.name;
          if (m.id === null) markFailed(err);
          else {
            this.pending.get(m.id)?.reject(err);
            this.pending.delete(m.id);
          }
        }
      });
      w.on('error', (e) => {
        markFailed(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      w.postMessage({ type: 'init', root, config, open: opts.open ?? {} } satisfies ToWorker);
      this.workers.push(w);
    }
  }

  /** Opens the dataset, validates the config in this thread (errors surface here), starts the workers. */
  static async create(
    root: string,
    config: SamplerConfig,
    opts: DataLoaderOptions = {},
  ): Promise<DataLoader> {
    if (opts.workers !== undefined && !(Number.isInteger(opts.workers) && opts.workers >= 0)) {
      throw new ConfigError('workers', `is ${opts.workers}; must be an integer ≥ 0`);
    }
    if (opts.prefetch !== undefined && !(Number.isInteger(opts.prefetch) && opts.prefetch >= 1)) {
      throw new ConfigError('prefetch', `is ${opts.prefetch}; must be an integer ≥ 1`);
    }
    const sampler = new Sampler(await openDataset(root, opts.open), config);
    const loader = new DataLoader(sampler, root, config, opts);
    await Promise.all(loader.ready);
    return loader;
  }

  private request(indices: Int32Array): Promise<SampleBatch> {
    if (this.numWorkers === 0) return this.sampler.batch(indices);
    const id = this.nextId++;
    const w = this.workers[id % this.workers.length];
    return new Promise<SampleBatch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Copy: the epoch's index array is shared by all batches, and posting copies only this slice.
      w.postMessage({ type: 'batch', id, indices: indices.slice() } satisfies ToWorker);
    });
  }

  /** Batches of one epoch, in the same order as `sampler.epoch(split, epochIndex, shuffle)`. */
  async *epoch(split: Split, epochIndex: number, shuffle?: boolean): AsyncGenerator<SampleBatch> {
    if (this.closed) throw new Error('DataLoader is closed');
    const batches = this.sampler.epochBatches(split, epochIndex, shuffle);
    const inflight: Promise<SampleBatch>[] = [];
    let next = 0;
    const fill = () => {
      while (next < batches.length && inflight.length < this.prefetch) {
        const p = this.request(batches[next++]);
        p.catch(() => {}); // handled when awaited in order
        inflight.push(p);
      }
    };
    fill();
    while (inflight.length > 0) {
      const b = await (inflight.shift() as Promise<SampleBatch>);
      fill();
      yield b;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
