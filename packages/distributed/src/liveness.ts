/**
 * Liveness of the other ranks through the store: every rank writes `hb/<rank>` (a beat counter and its
 * collective sequence number) every heartbeatMs; `abort/<rank>` carries a rank's own failure message;
 * the TCP store adds `gone/<rank>` when a rank's connection drops. `findCulprit` turns these into the
 * rank to blame and a sentence saying why.
 */
import { DistributedError } from './errors.js';
import type { Store } from './store.js';
import { goneKey } from './tcp-store.js';

export const heartbeatKey = (rank: number) => `hb/${rank}`;
export const abortKey = (rank: number) => `abort/${rank}`;

interface Beat {
  beat: number;
  seq: number;
}

const decode = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class Liveness {
  private beat = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Per peer: the last beat seen and when (local clock) it last changed. */
  private readonly seen = new Map<number, { beat: number; seq: number; at: number }>();
  private readonly startedAt = Date.now();

  constructor(
    private readonly store: Store,
    readonly rank: number,
    readonly size: number,
    private readonly heartbeatMs: number,
    private readonly livenessTimeoutMs: number,
    private readonly seq: () => number,
  ) {}

  start(): void {
    const tick = () => {
      this.beat++;
      const value = Buffer.from(JSON.stringify({ beat: this.beat, seq: this.seq() } satisfies Beat));
      this.store.set(heartbeatKey(this.rank), value).catch(() => {});
    };
    tick();
    this.timer = setInterval(tick, this.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async abort(message: string): Promise<void> {
    await this.store.set(abortKey(this.rank), Buffer.from(message)).catch(() => {});
  }

  /**
   * One look at the store: a DistributedError naming a rank that failed, exited or stopped beating for
   * longer than livenessTimeoutMs (or `staleMs` when given), else undefined. Throws nothing.
   */
  async check(staleMs = this.livenessTimeoutMs): Promise<DistributedError | undefined> {
    const peers = [...Array(this.size).keys()].filter((r) => r !== this.rank);
    let values: Array<Uint8Array | undefined>;
    try {
      values = await this.store.multiGet(peers.flatMap((r) => [abortKey(r), goneKey(r), heartbeatKey(r)]));
    } catch (err) {
      return this.storeLost(err as Error);
    }
    const now = Date.now();
    for (const [i, r] of peers.entries()) {
      const msg = decode(values[3 * i]);
      if (msg !== undefined) return new DistributedError(`rank ${r} failed: ${msg}`, 'peer-failed', r);
    }
    for (const [i, r] of peers.entries())
      if (values[3 * i + 1] !== undefined)
        return new DistributedError(
          `rank ${r} exited (its connection to the store closed)`,
          'peer-exited',
          r,
        );
    for (const [i, r] of peers.entries()) {
      const hb = decode(values[3 * i + 2]);
      const b: Beat | undefined = hb ? (JSON.parse(hb) as Beat) : undefined;
      const prev = this.seen.get(r);
      if (b && (!prev || prev.beat !== b.beat)) this.seen.set(r, { beat: b.beat, seq: b.seq, at: now });
      const last = this.seen.get(r)?.at ?? this.startedAt;
      if (now - last > staleMs)
        return new DistributedError(
          `rank ${r} stopped responding (no heartbeat for ${((now - last) / 1000).toFixed(1)} s; it died or hangs)`,
          'peer-hung',
          r,
        );
    }
    return undefined;
  }

  /** Ranks whose last reported collective number is below `seq` (they are behind this rank). */
  behind(seq: number): number[] {
    return [...this.seen.entries()].filter(([, s]) => s.seq < seq).map(([r]) => r);
  }

  private storeLost(err: Error): DistributedError {
    return this.rank === 0
      ? new DistributedError(`the store is unreachable (${err.message})`, 'io')
      : new DistributedError(
          `rank 0 is unreachable: it exited or hangs (its store: ${err.message})`,
          'peer-exited',
          0,
        );
  }
}
