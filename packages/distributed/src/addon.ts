/**
 * The distributed addon's JS surface (N-API glue in native/distributed/src/napi.cc) and its loader.
 * The addon is optional: `distributedAddon()` returns null when it is not built, so single-process
 * training never needs it.
 */
import { createRequire } from 'node:module';

/** Opaque handle of a connected gloo mesh. */
export type PgHandle = { readonly __pg: unique symbol };
/** Opaque handle of an NCCL communicator. */
export type NcclHandle = { readonly __nccl: unique symbol };

/** Answer callback of the store bridge: an error message, or the value of a `get`. */
export type StoreDone = (error: string | null, value?: Uint8Array) => void;
/** gloo's blocking Store calls, forwarded from the rendezvous thread to JS. */
export type StoreHandler = (
  op: 'set' | 'get' | 'wait',
  key: string,
  value: Uint8Array | null,
  keys: string[],
  timeoutMs: number,
  done: StoreDone,
) => void;

export interface ConnectArgs {
  rank: number;
  size: number;
  timeoutMs: number;
  /** Address this rank listens on (default 127.0.0.1) — or `iface`, a network interface name. */
  hostname?: string;
  iface?: string;
  /** Namespace of the rendezvous keys. */
  prefix?: string;
  store: 'callback' | 'redis';
  handler?: StoreHandler;
  host?: string;
  port?: number;
}

export interface DistributedAddon {
  features(): { apiVersion: number; gloo: boolean; glooVersion: number };
  connect(args: ConnectArgs): Promise<PgHandle>;
  allReduce(
    pg: PgHandle,
    data: Float32Array,
    op: 'sum' | 'mean',
    tag: number,
    timeoutMs: number,
  ): Promise<void>;
  broadcast(pg: PgHandle, data: ArrayBufferView, root: number, tag: number, timeoutMs: number): Promise<void>;
  barrier(pg: PgHandle, tag: number, timeoutMs: number): Promise<void>;
  destroy(pg: PgHandle): void;
  ncclLoad(): { available: boolean; version?: number; error?: string };
  ncclUniqueId(): Uint8Array;
  ncclInit(rank: number, size: number, id: Uint8Array, device: number): Promise<NcclHandle>;
  ncclAllReduce(comm: NcclHandle, data: Float32Array, op: 'sum' | 'mean'): Promise<void>;
  ncclBroadcast(comm: NcclHandle, data: ArrayBufferView, root: number): Promise<void>;
  ncclDestroy(comm: NcclHandle): void;
}

interface Loader {
  tryLoad(): { addon: DistributedAddon; file: string } | null;
  load(): { addon: DistributedAddon; file: string };
}

const require = createRequire(import.meta.url);
let cached: DistributedAddon | null | undefined;

/** The addon, or null when it is not built. */
export function distributedAddon(): DistributedAddon | null {
  if (cached === undefined) {
    const loader = require('@anchor-refine/distributed-native') as Loader;
    cached = loader.tryLoad()?.addon ?? null;
  }
  return cached;
}

/** The addon with gloo compiled in, or an error that says how to get it. */
export function requireGloo(): DistributedAddon {
  const addon = distributedAddon();
  if (!addon) {
    const loader = require('@anchor-refine/distributed-native') as Loader;
    loader.load(); // throws DISTRIBUTED_ADDON_MISSING with the build instructions
    throw new Error('unreachable');
  }
  if (!addon.features().gloo)
    throw new Error(
      'multi-process training needs gloo: the distributed addon was built without it. Run `apt-get install libgloo-dev` and `npx nx run distributed-native:build-native`',
    );
  return addon;
}
