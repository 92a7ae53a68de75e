/**
 * Gradient fusion (Horovod's Tensor Fusion, DDP's buckets): named gradients are packed into a few flat
 * float32 buckets of at most `bucketBytes` and each bucket is all-reduced in one call, so a step makes a
 * handful of collectives instead of one per tensor. Buckets go out as soon as they are packed: bucket
 * i's all-reduce runs on a worker thread while bucket i+1 is being packed.
 *
 * Weighted mean: each rank scales its gradients by its weight w (for a loss that is a sum over valid
 * steps divided by their count, w is that count) and appends w and w·stat for each statistic; after
 * the sum, everything is divided by Σw. This is the gradient of the global batch's loss exactly, even
 * when ranks hold different numbers of valid steps.
 */
import type { ProcessGroup } from './process-group.js';

export interface FusionEntry {
  name: string;
  size: number;
}

interface Bucket {
  entries: Array<FusionEntry & { offset: number }>;
  data: Float32Array;
}

export interface ReduceResult {
  /** Reduced gradients (views into the bucket buffers: valid until the next reduce). */
  grads: Map<string, Float32Array>;
  /** Σw over ranks. */
  weight: number;
  /** Weighted means of the statistics, in the order given. */
  stats: number[];
  /** Collectives issued and payload bytes per rank. */
  calls: number;
  bytes: number;
}

export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export class FusionBuffer {
  readonly buckets: Bucket[] = [];
  private readonly statsCount: number;

  /**
   * @param entries gradients in the order they become ready (reverse of the forward pass when known)
   * @param statsCount number of scalar statistics carried with the weights
   */
  constructor(entries: readonly FusionEntry[], statsCount: number, bucketBytes = DEFAULT_BUCKET_BYTES) {
    if (!(bucketBytes >= 4)) throw new Error(`FusionBuffer: bucketBytes must be ≥ 4, got ${bucketBytes}`);
    const cap = Math.floor(bucketBytes / 4);
    let cur: Array<FusionEntry & { offset: number }> = [];
    let used = 0;
    const seal = (extra: number) => {
      this.buckets.push({ entries: cur, data: new Float32Array(used + extra) });
      cur = [];
      used = 0;
    };
    for (const e of entries) {
      if (!Number.isInteger(e.size) || e.size < 0)
        throw new Error(`FusionBuffer: '${e.name}' has an invalid size ${e.size}`);
      if (used > 0 && used + e.size > cap) seal(0);
      cur.push({ ...e, offset: used });
      used += e.size;
    }
    this.statsCount = statsCount;
    seal(1 + statsCount); // the last bucket also carries [w, w·stat...]
  }

  /**
   * Packs `grad(name) · weight` bucket by bucket, all-reduces each (sum), divides by Σw. `grad` is called
   * once per entry, in order.
   */
  async reduce(
    pg: ProcessGroup,
    grad: (name: string) => ArrayLike<number>,
    weight: number,
    stats: readonly number[] = [],
  ): Promise<ReduceResult> {
    if (stats.length !== this.statsCount)
      throw new Error(`FusionBuffer.reduce: ${stats.length} statistics given, ${this.statsCount} expected`);
    if (!(weight >= 0 && Number.isFinite(weight)))
      throw new Error(`FusionBuffer.reduce: weight must be a finite number ≥ 0, got ${weight}`);
    const inflight: Promise<void>[] = [];
    let bytes = 0;
    for (const [bi, b] of this.buckets.entries()) {
      for (const e of b.entries) {
        const g = grad(e.name);
        if (g.length !== e.size)
          throw new Error(
            `FusionBuffer.reduce: gradient '${e.name}' has ${g.length} values, expected ${e.size}`,
          );
        const d = b.data;
        for (let i = 0; i < e.size; i++) d[e.offset + i] = g[i] * weight;
      }
      if (bi === this.buckets.length - 1) {
        const tail = b.data.length - 1 - this.statsCount;
        b.data[tail] = weight;
        for (let i = 0; i < this.statsCount; i++) b.data[tail + 1 + i] = stats[i] * weight;
      }
      bytes += b.data.byteLength;
      inflight.push(pg.allReduce(b.data, 'sum'));
    }
    // All must settle before a failure surfaces, so no worker thread still writes into a buffer.
    const settled = await Promise.allSettled(inflight);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const last = this.buckets[this.buckets.length - 1].data;
    const tail = last.length - 1 - this.statsCount;
    const total = last[tail];
    if (!(total > 0))
      throw new Error(`FusionBuffer.reduce: the summed weight is ${total}; no rank had a valid sample`);
    const inv = 1 / total;
    const grads = new Map<string, Float32Array>();
    for (const b of this.buckets) {
      for (const e of b.entries) {
        const v = b.data.subarray(e.offset, e.offset + e.size);
        for (let i = 0; i < v.length; i++) v[i] *= inv;
        grads.set(e.name, v);
      }
    }
    const out = Array.from(last.subarray(tail + 1), (x) => x * inv);
    return { grads, weight: total, stats: out, calls: this.buckets.length, bytes };
  }
}
