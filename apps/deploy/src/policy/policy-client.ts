/**
 * Main-thread handle on the policy worker: a FIFO of inference requests (one runs at a time in the
 * worker), each answered through a promise. A full queue rejects new requests at once (`PolicyBusyError`)
 * rather than letting latency grow without bound.
 *
 * When the worker dies (an uncaught error, out of memory, a native crash of the thread), the requests in
 * flight fail with `PolicyUnavailableError` and a new worker starts after a backoff (`restart`). While it
 * is down, `infer` fails at once with the same error (the server answers 503) and `health()` says so.
 * Restarts are bounded: after `maxRestarts` deaths with no successful inference in between, the client
 * stays `failed`.
 */

import { Worker } from 'node:worker_threads';
import type { ChunkGuide, ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';
import type { PolicyInfo, PolicySource, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';

export interface RestartOptions {
  /** deaths in a row (no successful inference between them) before giving up (default 5) */
  maxRestarts?: number;
  /** first delay before a restart (ms, default 500); doubles with each death in a row */
  baseDelayMs?: number;
  /** longest delay (ms, default 10 000) */
  maxDelayMs?: number;
}

export interface PolicyClientOptions {
  source: PolicySource;
  /** Requests waiting or running before new ones are refused (default 64). */
  maxQueue?: number;
  /**
   * Native kernel / BLAS threads for the model. On a small machine, fewer threads than cores leaves one
   * for the event loop (BLAS threads may spin after a call and delay replies).
   */
  threads?: number;
  restart?: RestartOptions;
}

export interface InferResult {
  chunk: ChunkPrediction;
  /** time inside predictActionChunk (worker) */
  inferMs: number;
  /** time from `infer()` to the result, including queueing and thread hand-off */
  totalMs: number;
}

export type PolicyState = 'up' | 'restarting' | 'failed' | 'closed';

export interface PolicyHealth {
  state: PolicyState;
  /** worker restarts since start */
  restarts: number;
  /** deaths in a row without a successful inference since */
  consecutiveFailures: number;
  /** why the last worker died (or the last restart failed); null if none did */
  lastError: string | null;
}

export class PolicyBusyError extends Error {
  constructor(depth: number) {
    super(`policy queue is full (${depth} requests waiting); retry later`);
    this.name = 'PolicyBusyError';
  }
}

/** The policy worker is down (restarting or given up); the server answers 503. */
export class PolicyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyUnavailableError';
  }
}

/** Delay before restart number `attempt` (0-based): base · 2^attempt, at most max. */
export function restartDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
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

/** Starts a worker and waits for its `ready` message. */
function spawnWorker(init: WorkerInit): Promise<{ worker: Worker; info: PolicyInfo }> {
  const { url, execArgv, entry } = workerEntry();
  const worker = new Worker(url, { workerData: { ...init, entry }, execArgv });
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.off('message', onMsg);
      worker.off('error', onErr);
      worker.off('exit', onExit);
    };
    const onMsg = (msg: WorkerReply) => {
      done();
      if (msg.type === 'ready') resolve({ worker, info: msg.info });
      else {
        void worker.terminate();
        reject(new Error(`policy worker failed to start: ${msg.type === 'fatal' ? msg.message : msg.type}`));
      }
    };
    const onErr = (err: Error) => {
      done();
      reject(err);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`policy worker exited with code ${code} while starting`));
    };
    worker.on('message', onMsg);
    worker.on('error', onErr);
    worker.on('exit', onExit);
  });
}

/** The fields a restarted worker must report as before (the server's key maps depend on them). */
const SHAPE_FIELDS = ['cameras', 'imageSize', 'stateDim', 'armDim', 'horizon', 'history'] as const;

interface Pending {
  resolve: (r: InferResult) => void;
  reject: (e: Error) => void;
  t0: number;
}

export class PolicyClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private state: PolicyState = 'up';
  private restarts = 0;
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly restart: Required<RestartOptions>;

  private constructor(
    private worker: Worker,
    readonly info: PolicyInfo,
    readonly maxQueue: number,
    private readonly init: WorkerInit,
    restart: RestartOptions,
  ) {
    this.restart = {
      maxRestarts: restart.maxRestarts ?? 5,
      baseDelayMs: restart.baseDelayMs ?? 500,
      maxDelayMs: restart.maxDelayMs ?? 10_000,
    };
    this.attach(worker);
  }

  static async start(options: PolicyClientOptions): Promise<PolicyClient> {
    const maxQueue = options.maxQueue ?? 64;
    if (!Number.isInteger(maxQueue) || maxQueue < 1)
      throw new Error(`PolicyClient: maxQueue must be a positive integer, got ${maxQueue}`);
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
      throw new Error(`PolicyClient: threads must be a positive integer, got ${options.threads}`);
    const r = options.restart ?? {};
    for (const [k, v] of Object.entries(r))
      if (v !== undefined && (!Number.isInteger(v) || v < 0))
        throw new Error(`PolicyClient: restart.${k} must be a non-negative integer, got ${v}`);
    const init: WorkerInit = {
      source: options.source,
      ...(options.threads ? { threads: options.threads } : {}),
    };
    const { worker, info } = await spawnWorker(init);
    return new PolicyClient(worker, info, maxQueue, init, r);
  }

  /** Requests waiting or running. */
  get depth(): number {
    return this.pending.size;
  }

  health(): PolicyHealth {
    return {
      state: this.state,
      restarts: this.restarts,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
    };
  }

  /** `guide`: real-time chunking's still-executing plan (the chunk's first guide.delay steps equal it). */
  infer(observations: PolicyObservation[], guide?: ChunkGuide): Promise<InferResult> {
    if (this.state === 'closed') return Promise.reject(new Error('policy worker is closed'));
    if (this.state !== 'up') return Promise.reject(this.unavailable());
    if (this.pending.size >= this.maxQueue) return Promise.reject(new PolicyBusyError(this.pending.size));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, t0: performance.now() });
      this.worker.postMessage({
        type: 'infer',
        id,
        observations,
        ...(guide ? { guide } : {}),
      } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.failAll(new Error('policy worker is closed'));
    if (wasUp) await this.worker.terminate();
  }

  private unavailable(): PolicyUnavailableError {
    const why = this.lastError ? `: ${this.lastError}` : '';
    return new PolicyUnavailableError(
      this.state === 'failed'
        ? `policy worker died ${this.consecutiveFailures} times in a row and is not restarted any more${why}`
        : `policy worker is restarting (attempt ${this.consecutiveFailures} of ${this.restart.maxRestarts})${why}; retry shortly`,
    );
  }

  private attach(worker: Worker): void {
    worker.on('message', (msg: WorkerReply) => this.onMessage(msg));
    worker.on('error', (err) => this.onDeath(worker, `worker error: ${err.message}`));
    worker.on('exit', (code) => this.onDeath(worker, `worker exited with code ${code}`));
  }

  private onDeath(worker: Worker, why: string): void {
    if (worker !== this.worker || this.state !== 'up') return; // already handled, or closing
    this.lastError = why;
    this.consecutiveFailures++;
    this.state = this.consecutiveFailures > this.restart.maxRestarts ? 'failed' : 'restarting';
    this.failAll(this.unavailable());
    if (this.state === 'restarting') this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const { baseDelayMs, maxDelayMs } = this.restart;
    const delay = restartDelay(this.consecutiveFailures - 1, baseDelayMs, maxDelayMs);
    this.restartTimer = setTimeout(() => void this.respawn(), delay);
    this.restartTimer.unref();
  }

  private async respawn(): Promise<void> {
    this.restartTimer = null;
    let started: { worker: Worker; info: PolicyInfo };
    try {
      started = await spawnWorker(this.init);
    } catch (err) {
      if (this.state !== 'restarting') return;
      this.lastError = `restart failed: ${(err as Error).message}`;
      this.consecutiveFailures++;
      if (this.consecutiveFailures > this.restart.maxRestarts) this.state = 'failed';
      else this.scheduleRestart();
      return;
    }
    if (this.state !== 'restarting') {
      void started.worker.terminate(); // closed meanwhile
      return;
    }
    const changed = SHAPE_FIELDS.filter(
      (f) => JSON.stringify(started.info[f]) !== JSON.stringify(this.info[f]),
    );
    if (changed.length > 0) {
      void started.worker.terminate();
      this.lastError = `the restarted policy differs in ${changed.join(', ')}`;
      this.state = 'failed';
      return;
    }
    this.worker = started.worker;
    this.attach(started.worker);
    this.restarts++;
    this.state = 'up';
  }

  private onMessage(msg: WorkerReply): void {
    if (msg.type !== 'result' && msg.type !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new Error(`policy inference failed: ${msg.message}`));
    else {
      this.consecutiveFailures = 0; // the worker works again
      p.resolve({ chunk: msg.chunk, inferMs: msg.inferMs, totalMs: performance.now() - p.t0 });
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
