/**
 * A process group over gloo: rendezvous through a store (TCP store served by rank 0, a shared folder, or
 * gloo's RedisStore), then all-reduce / broadcast / barrier on libuv worker threads with timeouts.
 * Every collective takes the next sequence number as its gloo tag, so ranks must issue collectives in
 * the same order (as in every data-parallel loop). While a collective is in flight a watchdog reads the
 * store every heartbeat: a rank that failed, exited or stopped beating fails the collective at once with
 * a DistributedError naming it; when gloo itself fails (a peer's socket closed, a timeout) the error
 * names the rank the store points at. After any failure the group is broken: exit the process.
 */
import { type DistributedAddon, type PgHandle, requireGloo } from './addon.js';
import type { DistEnv } from './env.js';
import { DistributedError } from './errors.js';
import { Liveness } from './liveness.js';
import { FileStore, type Store } from './store.js';
import { TcpStoreClient, TcpStoreServer } from './tcp-store.js';

export type StoreSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; host: string; port: number };

export interface ProcessGroupOptions {
  rank: number;
  size: number;
  store: StoreSpec;
  /** Address gloo listens on for peers (default: 127.0.0.1 when the store host is loopback, else the host name). */
  hostname?: string;
  /** Network interface for gloo instead of hostname (like GLOO_SOCKET_IFNAME). */
  iface?: string;
  /** Timeout of each collective (default 30 min, gloo's and PyTorch's default). */
  timeoutMs?: number;
  /** Timeout of the rendezvous (default 5 min). */
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  /** A peer silent for this long counts as hung (default 2 min). */
  livenessTimeoutMs?: number;
}

export interface CollectiveOptions {
  timeoutMs?: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!(Number.isFinite(x) && x > 0))
    throw new DistributedError(`ProcessGroup: ${name} must be > 0, got ${x}`, 'config');
  return x;
}

async function defaultHostname(storeHost: string | undefined): Promise<string> {
  if (!storeHost || LOOPBACK.has(storeHost)) return '127.0.0.1';
  const { hostname } = await import('node:os');
  return hostname();
}

export class ProcessGroup {
  private seq = 0;
  private inFlight = 0;
  private broken: DistributedError | undefined;
  private closed = false;

  private constructor(
    private readonly addon: DistributedAddon,
    private readonly pg: PgHandle,
    readonly rank: number,
    readonly size: number,
    private readonly store: Store | undefined,
    private readonly server: TcpStoreServer | undefined,
    private readonly liveness: Liveness | undefined,
    readonly timeoutMs: number,
    private readonly heartbeatMs: number,
  ) {}

  /** Rendezvous of `size` processes; resolves when the full mesh is connected. */
  static async init(opts: ProcessGroupOptions): Promise<ProcessGroup> {
    const { rank, size } = opts;
    if (!Number.isInteger(size) || size < 1)
      throw new DistributedError(`ProcessGroup: size must be an integer ≥ 1, got ${size}`, 'config');
    if (!Number.isInteger(rank) || rank < 0 || rank >= size)
      throw new DistributedError(`ProcessGroup: rank ${rank} is outside [0, ${size})`, 'config');
    const timeoutMs = positive('timeoutMs', opts.timeoutMs, 1_800_000);
    const connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs, 300_000);
    const heartbeatMs = positive('heartbeatMs', opts.heartbeatMs, 1000);
    const livenessTimeoutMs = positive('livenessTimeoutMs', opts.livenessTimeoutMs, 120_000);
    const addon = requireGloo();
    const spec = opts.store;
    let server: TcpStoreServer | undefined;
    let store: Store | undefined;
    if (spec.kind === 'tcp') {
      if (rank === 0) {
        try {
          server = await TcpStoreServer.listen(spec.port);
        } catch (err) {
          throw new DistributedError(
            `rank 0 could not serve the store on port ${spec.port} (MASTER_PORT): ${(err as Error).message}`,
            'config',
          );
        }
      }
      store = await TcpStoreClient.connect(spec.host, spec.port, rank, connectTimeoutMs);
    } else if (spec.kind === 'file') {
      store = new FileStore(spec.dir);
    }
    const storeHost = spec.kind === 'file' ? undefined : spec.host;
    const hostname = opts.hostname ?? (opts.iface ? undefined : await defaultHostname(storeHost));
    const handler = store;
    let pg: PgHandle;
    try {
      pg = await addon.connect({
        rank,
        size,
        timeoutMs: connectTimeoutMs,
        hostname,
        iface: opts.iface,
        prefix: 'rdzv',
        ...(spec.kind === 'redis'
          ? { store: 'redis' as const, host: spec.host, port: spec.port }
          : {
              store: 'callback' as const,
              handler: (op, key, value, keys, t, done) => {
                const s = handler as Store;
                const p =
                  op === 'set'
                    ? s.set(key, value ?? new Uint8Array())
                    : op === 'get'
                      ? s.get(key, t)
                      : s.wait(keys, t);
                p.then(
                  (v) => done(null, v instanceof Uint8Array ? v : undefined),
                  (e: Error) => done(e.message),
                );
              },
            }),
      });
    } catch (err) {
      await store?.close();
      await server?.close();
      throw new DistributedError(
        `rank ${rank}: rendezvous of ${size} ranks failed: ${(err as Error).message}`,
        (err as { code?: string }).code === 'CT_DIST_TIMEOUT' ? 'timeout' : 'io',
      );
    }
    let group: ProcessGroup | undefined;
    const liveness = store
      ? new Liveness(store, rank, size, heartbeatMs, livenessTimeoutMs, () => group?.seq ?? 0)
      : undefined;
    group = new ProcessGroup(addon, pg, rank, size, store, server, liveness, timeoutMs, heartbeatMs);
    liveness?.start();
    return group;
  }

  /** From torchrun's env contract, with the TCP store on MASTER_ADDR:MASTER_PORT. */
  static fromEnv(
    env: DistEnv,
    extra: Omit<ProcessGroupOptions, 'rank' | 'size' | 'store'> = {},
  ): Promise<ProcessGroup> {
    return ProcessGroup.init({
      ...extra,
      rank: env.rank,
      size: env.worldSize,
      store: { kind: 'tcp', host: env.masterAddr, port: env.masterPort },
    });
  }

  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  /** In-place all-reduce of float32 values (sum or mean). */
  allReduce(data: Float32Array, op: 'sum' | 'mean' = 'sum', o: CollectiveOptions = {}): Promise<void> {
    return this.run('allReduce', (tag, t) => this.addon.allReduce(this.pg, data, op, tag, t), o);
  }

  /** In-place broadcast of `data`'s bytes from `root`. */
  broadcast(data: ArrayBufferView, root = 0, o: CollectiveOptions = {}): Promise<void> {
    return this.run('broadcast', (tag, t) => this.addon.broadcast(this.pg, data, root, tag, t), o);
  }

  barrier(o: CollectiveOptions = {}): Promise<void> {
    return this.run('barrier', (tag, t) => this.addon.barrier(this.pg, tag, t), o);
  }

  /** Broadcast of a byte string whose length only the root knows (length first, then the bytes). */
  async broadcastBytes(
    bytes: Uint8Array | undefined,
    root = 0,
    o: CollectiveOptions = {},
  ): Promise<Uint8Array> {
    const len = new Float64Array([this.rank === root ? (bytes?.length ?? 0) : 0]);
    await this.broadcast(len, root, o);
    const out = this.rank === root && bytes ? bytes : new Uint8Array(len[0]);
    await this.broadcast(out, root, o);
    return out;
  }

  /** Tells the others (through the store) that this rank failed, so their error names it. */
  async abort(message: string): Promise<void> {
    await this.liveness?.abort(message);
  }

  private async run(
    name: string,
    op: (tag: number, timeoutMs: number) => Promise<void>,
    o: CollectiveOptions,
  ): Promise<void> {
    if (this.closed) throw new DistributedError(`${name}: the process group is closed`, 'config');
    if (this.broken) throw this.broken;
    const seq = ++this.seq;
    const timeoutMs = positive('timeoutMs', o.timeoutMs, this.timeoutMs);
    const what = `rank ${this.rank}: ${name} #${seq}`;
    this.inFlight++;
    let watch: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      if (!this.liveness) return;
      const live = this.liveness;
      let busy = false;
      watch = setInterval(async () => {
        if (busy) return;
        busy = true;
        const e = await live.check();
        busy = false;
        if (e) reject(new DistributedError(`${what} aborted: ${e.message}`, e.kind, e.culprit));
      }, this.heartbeatMs);
    });
    try {
      await Promise.race([op(seq >>> 0, timeoutMs), watchdog]);
    } catch (err) {
      const e =
        err instanceof DistributedError
          ? err
          : await this.explain(what, err as Error & { code?: string }, seq);
      this.broken = e;
      throw e;
    } finally {
      if (watch) clearInterval(watch);
      this.inFlight--;
    }
  }

  /** A gloo failure → the rank to blame (looks at the store for up to 3 heartbeats). */
  private async explain(
    what: string,
    err: Error & { code?: string },
    seq: number,
  ): Promise<DistributedError> {
    const kind = err.code === 'CT_DIST_TIMEOUT' ? 'timeout' : 'io';
    const live = this.liveness;
    if (live) {
      // Who was behind at the moment of the failure (before a stalled rank can catch up)…
      const first = await live.check(2 * this.heartbeatMs + 500);
      if (first) return this.blame(what, err, first);
      const behind = live.behind(seq);
      // …but a rank that failed or exited is the better answer: give the store a few heartbeats to say so.
      const end = Date.now() + 3 * this.heartbeatMs + 500;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, this.heartbeatMs / 2));
        const e = await live.check(2 * this.heartbeatMs + 500);
        if (e) return this.blame(what, err, e);
      }
      if (behind.length > 0)
        return new DistributedError(
          `${what} failed: rank ${behind.join(', ')} did not reach this collective (still at an earlier one) [gloo: ${err.message}]`,
          kind,
          behind[0],
        );
    }
    return new DistributedError(`${what} failed: ${err.message}`, kind);
  }

  private blame(what: string, err: Error, e: DistributedError): DistributedError {
    return new DistributedError(`${what} failed: ${e.message} [gloo: ${err.message}]`, e.kind, e.culprit);
  }

  /** Leaves the group: stops heartbeats, says bye to the store, frees the mesh (not after a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.liveness?.stop();
    if (!this.broken && this.inFlight === 0) this.addon.destroy(this.pg);
    await this.store?.close();
    await this.server?.close();
  }
}
