/**
 * Main-thread handle on the policy worker: a FIFO of inference requests (one runs at a time in the
 * worker), each answered through a promise. A full queue rejects new requests at once (`PolicyBusyError`)
 * rather than letting latency grow without bound.
 */

import { Worker } from 'node:worker_threads';
import type { ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';
import type { PolicyInfo, PolicySource, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';

export interface PolicyClientOptions {
  source: PolicySource;
  /** Requests waiting or running before new ones are refused (default 64). */
  maxQueue?: number;
  /**
   * Native kernel / BLAS threads for the model. On a small machine, fewer threads than cores leaves one
   * for the event loop (BLAS threads may spin after a call and delay replies).
   */
  threads?: number;
}

export interface InferResult {
  chunk: ChunkPrediction;
  /** time inside predictActionChunk (worker) */
  inferMs: number;
  /** time from `infer()` to the result, including queueing and thread hand-off */
  totalMs: number;
}

export class PolicyBusyError extends Error {
  constructor(depth: number) {
    super(`policy queue is full (${depth} requests waiting); retry later`);
    this.name = 'PolicyBusyError';
  }
}

/** How to start the worker: TypeScript sources through the tsx bootstrap, or the built JS. */
function workerEntry(): { url: URL; execArgv: string[]; entry?: string } {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource
    ? {
        url: new URL('./worker-bootstrap.mjs', import.meta.url),
        execArgv: ['--conditions=@anchor-refine/source'],
        entry: new URL('./policy-worker.ts', import.meta.url).href,
      }
    : { url: new URL('./policy-worker.js', import.meta.url), execArgv: [] };
}

interface Pending {
  resolve: (r: InferResult) => void;
  reject: (e: Error) => void;
  t0: number;
}

export class PolicyClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: PolicyInfo,
    readonly maxQueue: number,
  ) {
    worker.on('message', (msg: WorkerReply) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`policy worker exited with code ${code}`)));
  }

  static start(options: PolicyClientOptions): Promise<PolicyClient> {
    const maxQueue = options.maxQueue ?? 64;
    if (!Number.isInteger(maxQueue) || maxQueue < 1)
      throw new Error(`PolicyClient: maxQueue must be a positive integer, got ${maxQueue}`);
    const { url, execArgv, entry } = workerEntry();
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
      throw new Error(`PolicyClient: threads must be a positive integer, got ${options.threads}`);
    const init: WorkerInit = {
      source: options.source,
      ...(options.threads ? { threads: options.threads } : {}),
    };
    const worker = new Worker(url, { workerData: { ...init, entry }, execArgv });
    return new Promise((resolve, reject) => {
      const onMsg = (msg: WorkerReply) => {
        worker.off('message', onMsg);
        worker.off('error', onErr);
        if (msg.type === 'ready') resolve(new PolicyClient(worker, msg.info, maxQueue));
        else {
          void worker.terminate();
          reject(
            new Error(`policy worker failed to start: ${msg.type === 'fatal' ? msg.message : msg.type}`),
          );
        }
      };
      const onErr = (err: Error) => reject(err);
      worker.on('message', onMsg);
      worker.on('error', onErr);
    });
  }

  /** Requests waiting or running. */
  get depth(): number {
    return this.pending.size;
  }

  infer(observations: PolicyObservation[]): Promise<InferResult> {
    if (this.closed) return Promise.reject(new Error('policy worker is closed'));
    if (this.pending.size >= this.maxQueue) return Promise.reject(new PolicyBusyError(this.pending.size));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, t0: performance.now() });
      this.worker.postMessage({ type: 'infer', id, observations } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }

  private onMessage(msg: WorkerReply): void {
    if (msg.type !== 'result' && msg.type !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new Error(`policy inference failed: ${msg.message}`));
    else p.resolve({ chunk: msg.chunk, inferMs: msg.inferMs, totalMs: performance.now() - p.t0 });
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
