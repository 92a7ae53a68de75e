/**
 * Output-buffer pool of the `native` backend: kernels take their float32 outputs from arrays that earlier,
 * disposed tensors no longer use, instead of a fresh zero-filled `new Float32Array` per op (which costs a
 * calloc, page faults, and V8 garbage collections driven by external memory). A training step's tensors
 * have the same sizes every step, so after the first step nearly every output is a reuse.
 *
 * Safety: tfjs tensors are immutable and their arrays can escape, so an array is reused only when the
 * pool can prove nobody else holds it:
 *   - it was allocated here and stored under exactly one dataId (a second store of the array, or of a
 *     view onto its buffer, e.g. tfjs-cpu's simple-slice subarray, disowns it for good);
 *   - it was never handed out by readSync/read (dataSync(), data(), arraySync(), bufferSync() all go
 *     through them), so no caller can see it change;
 *   - its dataId was freed (refCount reached 0: Reshape/Identity/clone aliases keep it alive).
 * Only kernels that overwrite every output element take pooled arrays (`outputF32`); under tfjs's
 * IS_TEST flag a reused array is first filled with NaN, so an oracle test catches any element a kernel
 * forgot to write.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Arrays below this many elements are not pooled (V8 allocates them cheaply). */
const MIN_POOLED = 256;

export interface BufferPoolStats {
  /** Outputs served from the pool. */
  reused: number;
  /** Outputs that needed a new array (and their bytes). */
  allocated: number;
  allocatedBytes: number;
  /** Arrays returned to the pool on dispose. */
  recycled: number;
  /** Bytes the pool holds now, and its cap. */
  heldBytes: number;
  capBytes: number;
}

type Owned = { placed: boolean };

class BufferPool {
  private readonly owned = new WeakMap<ArrayBufferLike, Owned>();
  private readonly small = new WeakSet<Float32Array>();
  private readonly free = new Map<number, Float32Array[]>();
  private held = 0;
  readonly stats: BufferPoolStats;

  constructor(readonly capBytes: number) {
    this.stats = { reused: 0, allocated: 0, allocatedBytes: 0, recycled: 0, heldBytes: 0, capBytes };
  }

  take(n: number): Float32Array {
    const list = n >= MIN_POOLED ? this.free.get(n) : undefined;
    const reused = list?.pop();
    if (reused !== undefined) {
      this.held -= reused.byteLength;
      this.stats.reused += 1;
      this.stats.heldBytes = this.held;
      if (tf.env().getBool('IS_TEST')) reused.fill(Number.NaN);
      this.owned.set(reused.buffer, { placed: false });
      return reused;
    }
    const fresh = new Float32Array(n);
    this.stats.allocated += 1;
    this.stats.allocatedBytes += fresh.byteLength;
    if (n >= MIN_POOLED) this.owned.set(fresh.buffer, { placed: false });
    else this.small.add(fresh);
    return fresh;
  }

  /**
   * A small array take() made (never pooled, never a view): the hooks skip it without reading `.buffer`,
   * which for V8's on-heap small typed arrays allocates an ArrayBuffer (~0.25 µs, on most kernel outputs
   * of a scalar or a bias-sized tensor).
   */
  private isSmallOwn(values: object): boolean {
    return this.small.has(values as Float32Array);
  }

  /** backend.write saw `values`: the first store of an owned array is its one owner; anything else disowns. */
  stored(values: unknown): void {
    if (!ArrayBuffer.isView(values) || this.isSmallOwn(values)) return;
    const o = this.owned.get(values.buffer);
    if (o === undefined) return;
    const whole = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
    if (!o.placed && whole) o.placed = true;
    else this.owned.delete(values.buffer);
  }

  /** The array was handed to a caller (readSync/read): it may be held outside tfjs, never reuse it. */
  exposed(values: unknown): void {
    if (ArrayBuffer.isView(values) && !this.isSmallOwn(values)) this.owned.delete(values.buffer);
  }

  /** Whether `values` is a whole pooled array stored under one dataId and never handed out. */
  private_(values: Float32Array): boolean {
    const o = this.owned.get(values.buffer);
    return o?.placed === true && values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  }

  /** The dataId holding `values` was freed. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || this.isSmallOwn(values)) return;
    const o = this.owned.get(values.buffer);
    if (o === undefined || !o.placed) return;
    this.owned.delete(values.buffer);
    if (this.held + values.byteLength > this.capBytes) return; // let the GC have it
    let list = this.free.get(values.length);
    if (list === undefined) {
      list = [];
      this.free.set(values.length, list);
    }
    list.push(values);
    this.held += values.byteLength;
    this.stats.recycled += 1;
    this.stats.heldBytes = this.held;
  }

  /** Drops every pooled array (their memory goes back to the GC). */
  clear(): void {
    this.free.clear();
    this.held = 0;
    this.stats.heldBytes = 0;
  }
}

const pools = new WeakMap<MathBackendCPU, BufferPool>();

/** Pool cap in MiB: CORE_TENSORS_POOL_MB, default 256; 0 turns pooling off. */
function capFromEnv(): number {
  const raw = process.env.CORE_TENSORS_POOL_MB;
  const mb = raw === undefined || raw === '' ? 256 : Number(raw);
  if (!(mb >= 0) || !Number.isFinite(mb)) {
    throw new RangeError(`CORE_TENSORS_POOL_MB must be a number of MiB >= 0 (got ${JSON.stringify(raw)})`);
  }
  return mb * 1024 * 1024;
}

/** Wraps the backend's write / readSync / read / disposeData so its arrays can be reused safely. */
export function installBufferPool(backend: MathBackendCPU, capBytes = capFromEnv()): void {
  if (pools.has(backend) || capBytes <= 0) return;
  const pool = new BufferPool(capBytes);
  pools.set(backend, pool);
  const b = backend as unknown as {
    write(values: unknown, shape: number[], dtype: string): unknown;
    readSync(dataId: object): unknown;
    read(dataId: object): Promise<unknown>;
    disposeData(dataId: object, force?: boolean): boolean;
  };
  const write = b.write.bind(backend);
  const readSync = b.readSync.bind(backend);
  const read = b.read.bind(backend);
  const disposeData = b.disposeData.bind(backend);
  b.write = (values, shape, dtype) => {
    pool.stored(values);
    return write(values, shape, dtype);
  };
  b.readSync = (dataId) => {
    const values = readSync(dataId);
    pool.exposed(values);
    return values;
  };
  b.read = async (dataId) => {
    const values = await read(dataId);
    pool.exposed(values);
    return values;
  };
  b.disposeData = (dataId, force) => {
    const values = backend.data.has(dataId) ? backend.data.get(dataId)?.values : undefined;
    const freed = disposeData(dataId, force);
    if (freed) pool.release(values);
    return freed;
  };
}

/**
 * A float32 output array of n elements for a kernel that WRITES EVERY ELEMENT: a reused array (garbage
 * contents; NaN under IS_TEST) when the backend has a pool, else a new zero-filled one.
 */
export function outputF32(backend: MathBackendCPU, n: number): Float32Array {
  const pool = pools.get(backend);
  return pool ? pool.take(n) : new Float32Array(n);
}

/**
 * Whether the backend's pool can prove that `values` has exactly one holder: allocated by the pool, stored
 * under one dataId, never handed out by a read. (With the dataId's refCount at 1 this makes an in-place
 * update unobservable except through that one tensor.) false when the backend has no pool.
 */
export function isPoolPrivate(backend: MathBackendCPU, values: Float32Array): boolean {
  return pools.get(backend)?.private_(values) ?? false;
}

/** Counters of the backend's pool (undefined when it has none). */
export function bufferPoolStats(backend: MathBackendCPU): BufferPoolStats | undefined {
  const s = pools.get(backend)?.stats;
  return s ? { ...s } : undefined;
}

/** Empties the backend's pool. */
export function clearBufferPool(backend: MathBackendCPU): void {
  pools.get(backend)?.clear();
}
