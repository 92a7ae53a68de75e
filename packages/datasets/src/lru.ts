/** A byte-bounded LRU cache of promises (concurrent requests for one key share one load). */
export class LruCache<V> {
  private readonly map = new Map<string, { value: Promise<V>; bytes: number }>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  /** True when `key` is cached or loading (does not touch its recency). */
  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit.value;
    }
    const entry = { value: load(), bytes: 0 };
    this.map.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.map.get(key) !== entry) return;
        entry.bytes = this.sizeOf(v);
        this.total += entry.bytes;
        this.evict(key);
      },
      () => {
        // A failed load is not cached: the next call retries (and reports the error again).
        if (this.map.get(key) === entry) this.map.delete(key);
      },
    );
    return entry.value;
  }

  private evict(keep: string): void {
    for (const [k, e] of this.map) {
      if (this.total <= this.maxBytes) break;
      if (k === keep) continue;
      this.map.delete(k);
      this.total -= e.bytes;
    }
  }

  get sizeBytes(): number {
    return this.total;
  }
}
