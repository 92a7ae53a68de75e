/**
 * Feetech STS bus master: ping, read, write, sync read and sync write over any `ByteTransport`, with a
 * reply timeout and retries on corrupt or missing replies. One transaction runs at a time.
 */

import {
  decodeSignMagnitude,
  encodeSignMagnitude,
  SIGN_BIT,
  STS,
  type StsRegister,
} from './control-table.js';
import {
  BROADCAST_ID,
  describeStatusError,
  INSTR,
  instructionPacket,
  parsePacket,
  type StatusPacket,
} from './packet.js';
import type { ByteTransport } from './transport.js';

export class FeetechError extends Error {
  constructor(
    readonly kind: 'timeout' | 'checksum' | 'status' | 'protocol',
    message: string,
  ) {
    super(message);
    this.name = 'FeetechError';
  }
}

export interface FeetechBusOptions {
  /** Reply timeout per attempt (ms). Default 20. */
  timeoutMs?: number;
  /** Extra attempts for reads/pings after a timeout or checksum error (LeRobot uses 2). */
  retries?: number;
}

export class FeetechBus {
  private rx = new Uint8Array(0);
  private waiter: (() => void) | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  readonly timeoutMs: number;
  readonly retries: number;
  /** Counters for diagnostics. */
  readonly stats = { timeouts: 0, checksumErrors: 0, retries: 0 };

  constructor(
    private readonly transport: ByteTransport,
    options: FeetechBusOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 20;
    this.retries = options.retries ?? 2;
    if (!(this.timeoutMs > 0)) throw new Error(`FeetechBus: timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!Number.isInteger(this.retries) || this.retries < 0)
      throw new Error(`FeetechBus: retries must be a non-negative integer, got ${this.retries}`);
    transport.onData((bytes) => {
      const next = new Uint8Array(this.rx.length + bytes.length);
      next.set(this.rx);
      next.set(bytes, this.rx.length);
      this.rx = next;
      this.waiter?.();
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** Pings `id`; resolves to true when it answers, false on timeout. */
  async ping(id: number): Promise<boolean> {
    try {
      await this.request(instructionPacket(id, INSTR.PING), [id]);
      return true;
    } catch (err) {
      if (err instanceof FeetechError && err.kind === 'timeout') return false;
      throw err;
    }
  }

  async read(id: number, address: number, length: number): Promise<Uint8Array> {
    const [p] = await this.request(instructionPacket(id, INSTR.READ, [address, length]), [id]);
    if (p.params.length !== length)
      throw new FeetechError('protocol', `servo ${id}: read of ${length} bytes returned ${p.params.length}`);
    return p.params;
  }

  /** Writes and waits for the status reply (Response_Status_Level 1, the STS3215 default). */
  async write(id: number, address: number, data: ArrayLike<number>): Promise<void> {
    const pkt = instructionPacket(id, INSTR.WRITE, [address, ...Array.from(data)]);
    if (id === BROADCAST_ID) await this.send(pkt);
    else await this.request(pkt, [id], 0);
  }

  /** One SYNC_READ to the broadcast id; every servo answers with its own status packet, in order. */
  async syncRead(ids: number[], address: number, length: number): Promise<Map<number, Uint8Array>> {
    const replies = await this.request(
      instructionPacket(BROADCAST_ID, INSTR.SYNC_READ, [address, length, ...ids]),
      ids,
    );
    const out = new Map<number, Uint8Array>();
    for (const p of replies) {
      if (p.params.length !== length)
        throw new FeetechError(
          'protocol',
          `servo ${p.id}: sync read of ${length} bytes returned ${p.params.length}`,
        );
      out.set(p.id, p.params);
    }
    return out;
  }

  /** One SYNC_WRITE (no reply). */
  async syncWrite(address: number, length: number, values: Map<number, ArrayLike<number>>): Promise<void> {
    const params: number[] = [address, length];
    for (const [id, data] of values) {
      if (data.length !== length)
        throw new Error(`syncWrite: servo ${id} data has ${data.length} bytes, expected ${length}`);
      params.push(id, ...Array.from(data));
    }
    await this.send(instructionPacket(BROADCAST_ID, INSTR.SYNC_WRITE, params));
  }

  // --- typed register helpers (little-endian, sign-magnitude where the register is signed) ---

  async readRegister(id: number, reg: StsRegister): Promise<number> {
    const [addr, n] = STS[reg];
    return decodeRegister(reg, await this.read(id, addr, n));
  }

  async writeRegister(id: number, reg: StsRegister, value: number): Promise<void> {
    const [addr] = STS[reg];
    await this.write(id, addr, encodeRegister(reg, value));
  }

  async syncReadRegister(ids: number[], reg: StsRegister): Promise<Map<number, number>> {
    const [addr, n] = STS[reg];
    const raw = await this.syncRead(ids, addr, n);
    return new Map([...raw].map(([id, b]) => [id, decodeRegister(reg, b)]));
  }

  async syncWriteRegister(reg: StsRegister, values: Map<number, number>): Promise<void> {
    const [addr, n] = STS[reg];
    await this.syncWrite(addr, n, new Map([...values].map(([id, v]) => [id, encodeRegister(reg, v)])));
  }

  // --- transactions ---

  private send(pkt: Uint8Array): Promise<void> {
    return this.exclusive(() => {
      this.rx = new Uint8Array(0);
      return this.transport.write(pkt);
    });
  }

  private async request(pkt: Uint8Array, ids: number[], retries = this.retries): Promise<StatusPacket[]> {
    return this.exclusive(async () => {
      let last: FeetechError | null = null;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) this.stats.retries++;
        this.rx = new Uint8Array(0);
        await this.transport.write(pkt);
        try {
          const replies = await this.collect(ids);
          for (const p of replies)
            if (p.error !== 0)
              throw new FeetechError(
                'status',
                `servo ${p.id} reports error: ${describeStatusError(p.error)}`,
              );
          return replies;
        } catch (err) {
          if (!(err instanceof FeetechError) || err.kind === 'status') throw err;
          last = err;
        }
      }
      throw last as FeetechError;
    });
  }

  /** Waits for one status packet per id, in order. */
  private async collect(ids: number[]): Promise<StatusPacket[]> {
    const out: StatusPacket[] = [];
    const deadline = performance.now() + this.timeoutMs * Math.max(1, ids.length);
    while (out.length < ids.length) {
      const r = parsePacket(this.rx);
      if (r.kind === 'need-more') {
        const left = deadline - performance.now();
        if (left <= 0 || !(await this.waitData(left))) {
          this.stats.timeouts++;
          throw new FeetechError(
            'timeout',
            `no reply from servo ${ids[out.length]} within ${this.timeoutMs} ms`,
          );
        }
        continue;
      }
      this.rx = this.rx.slice(r.consumed);
      if (r.kind === 'garbage') continue;
      if (r.kind === 'bad-checksum') {
        this.stats.checksumErrors++;
        throw new FeetechError('checksum', `corrupt reply (bad checksum) from servo ${r.id}`);
      }
      const want = ids[out.length];
      if (r.packet.id !== want) {
        // An echo of our own instruction (half-duplex adapters) is skipped; anything else is an error.
        if (r.packet.id === BROADCAST_ID) continue;
        if (ids.indexOf(r.packet.id, out.length) > out.length) {
          // A later servo answered in this slot: the expected one is silent.
          this.stats.timeouts++;
          throw new FeetechError(
            'timeout',
            `no reply from servo ${want} (servo ${r.packet.id} answered in its slot)`,
          );
        }
        throw new FeetechError(
          'protocol',
          `expected a reply from servo ${want}, got one from ${r.packet.id}`,
        );
      }
      out.push(r.packet);
    }
    return out;
  }

  private waitData(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, ms);
      this.waiter = () => {
        clearTimeout(t);
        this.waiter = null;
        resolve(true);
      };
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

export function decodeRegister(reg: StsRegister, bytes: Uint8Array): number {
  const raw = bytes.length === 2 ? bytes[0] | (bytes[1] << 8) : bytes[0];
  const bit = SIGN_BIT[reg];
  return bit === undefined ? raw : decodeSignMagnitude(raw, bit);
}

export function encodeRegister(reg: StsRegister, value: number): number[] {
  const [, n] = STS[reg];
  const bit = SIGN_BIT[reg];
  const raw = bit === undefined ? Math.trunc(value) : encodeSignMagnitude(value, bit);
  const max = n === 2 ? 0xffff : 0xff;
  if (raw < 0 || raw > max) throw new RangeError(`${reg}: value ${value} out of range for ${n} byte(s)`);
  return n === 2 ? [raw & 0xff, raw >> 8] : [raw];
}
