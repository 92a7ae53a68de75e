/**
 * A simulated Feetech STS3215 bus at the byte level: parses instruction packets written to it and
 * answers with status packets, like servos on a half-duplex line. Used by tests and by
 * `--port sim` for dry runs. Servos keep a 256-byte control table; with torque on, the actual position
 * moves toward the goal by at most `ticksPerTick` per `step()` (or jumps when `instant`).
 * Faults: `corruptReplies` (bad checksums), `silent` ids (no reply), `noise` (garbage before replies).
 */

import { decodeSignMagnitude, STS, STS3215_MODEL } from './control-table.js';
import { BROADCAST_ID, checksum, INSTR, parsePacket } from './packet.js';
import type { ByteTransport } from './transport.js';

export class SimServo {
  readonly mem = new Uint8Array(256);
  /** The encoder's actual position (0..4095), before the homing offset. */
  actual = 2048;

  constructor(readonly id: number) {
    this.set16(STS.Model_Number[0], STS3215_MODEL);
    this.mem[STS.ID[0]] = id;
    this.mem[STS.Return_Delay_Time[0]] = 250;
    this.set16(STS.Min_Position_Limit[0], 0);
    this.set16(STS.Max_Position_Limit[0], 4095);
    this.set16(STS.Goal_Position[0], 2048);
    this.refresh();
  }

  get16(addr: number): number {
    return this.mem[addr] | (this.mem[addr + 1] << 8);
  }

  set16(addr: number, v: number): void {
    this.mem[addr] = v & 0xff;
    this.mem[addr + 1] = (v >> 8) & 0xff;
  }

  get torque(): boolean {
    return this.mem[STS.Torque_Enable[0]] === 1;
  }

  get homingOffset(): number {
    return decodeSignMagnitude(this.get16(STS.Homing_Offset[0]), 11);
  }

  /** Present_Position = actual − Homing_Offset, wrapped to 0..4095. */
  refresh(): void {
    const present = (((this.actual - this.homingOffset) % 4096) + 4096) % 4096;
    this.set16(STS.Present_Position[0], present);
  }

  /** Goal in the actual (encoder) frame. */
  goalActual(): number {
    return decodeSignMagnitude(this.get16(STS.Goal_Position[0]), 15) + this.homingOffset;
  }
}

export interface SimBusOptions {
  ids?: number[];
  /** Max ticks moved per `step()` when torque is on (default 4096 = instant). */
  ticksPerStep?: number;
}

export class SimulatedServoBus implements ByteTransport {
  readonly servos = new Map<number, SimServo>();
  private rx = new Uint8Array(0);
  private listener: ((b: Uint8Array) => void) | null = null;
  /** Replies to corrupt (bad checksum) before answering normally. */
  corruptReplies = 0;
  /** Ids that do not answer. */
  readonly silent = new Set<number>();
  /** Garbage bytes to send before the next reply. */
  noise: number[] = [];
  readonly log: Uint8Array[] = [];
  private readonly ticksPerStep: number;
  closed = false;

  constructor(options: SimBusOptions = {}) {
    for (const id of options.ids ?? [1, 2, 3, 4, 5, 6]) this.servos.set(id, new SimServo(id));
    this.ticksPerStep = options.ticksPerStep ?? 4096;
  }

  onData(listener: (b: Uint8Array) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('simulated bus is closed');
    const next = new Uint8Array(this.rx.length + bytes.length);
    next.set(this.rx);
    next.set(bytes, this.rx.length);
    this.rx = next;
    const replies: Uint8Array[] = [];
    for (;;) {
      const r = parsePacket(this.rx);
      if (r.kind === 'need-more') break;
      const pkt = this.rx.slice(0, r.consumed);
      this.rx = this.rx.slice(r.consumed);
      if (r.kind !== 'packet') continue; // a real servo ignores a corrupt instruction
      this.log.push(pkt);
      replies.push(...this.execute(r.packet.id, pkt[4], r.packet.params));
    }
    if (replies.length === 0) return;
    // Answer asynchronously, as a UART would.
    setImmediate(() => {
      if (this.noise.length) {
        this.listener?.(Uint8Array.from(this.noise));
        this.noise = [];
      }
      for (const rep of replies) this.listener?.(rep);
    });
  }

  /** Advances the simulated motors one step toward their goals. */
  step(): void {
    for (const s of this.servos.values()) {
      if (s.torque) {
        const d = s.goalActual() - s.actual;
        s.actual += Math.sign(d) * Math.min(Math.abs(d), this.ticksPerStep);
      }
      s.refresh();
    }
  }

  private status(id: number, params: ArrayLike<number> = []): Uint8Array {
    const n = params.length;
    const p = new Uint8Array(n + 6);
    p.set([0xff, 0xff, id, n + 2, 0]);
    for (let i = 0; i < n; i++) p[5 + i] = params[i];
    p[n + 5] = checksum(p, 2, n + 5);
    if (this.corruptReplies > 0) {
      this.corruptReplies--;
      p[n + 5] ^= 0x5a;
    }
    return p;
  }

  private execute(id: number, instr: number, params: Uint8Array): Uint8Array[] {
    const one = (fn: (s: SimServo) => Uint8Array | null): Uint8Array[] => {
      const s = this.servos.get(id);
      if (!s || this.silent.has(id)) return [];
      const r = fn(s);
      return r ? [r] : [];
    };
    switch (instr) {
      case INSTR.PING:
        return one((s) => this.status(s.id));
      case INSTR.READ:
        return one((s) => {
          s.refresh();
          return this.status(s.id, s.mem.slice(params[0], params[0] + params[1]));
        });
      case INSTR.WRITE: {
        const apply = (s: SimServo) => {
          s.mem.set(params.subarray(1), params[0]);
          if (this.ticksPerStep >= 4096 && s.torque) s.actual = s.goalActual();
          s.refresh();
        };
        if (id === BROADCAST_ID) {
          for (const s of this.servos.values()) apply(s);
          return [];
        }
        return one((s) => {
          apply(s);
          return this.status(s.id);
        });
      }
      case INSTR.SYNC_READ: {
        const [addr, len] = params;
        const out: Uint8Array[] = [];
        for (const sid of params.subarray(2)) {
          const s = this.servos.get(sid);
          if (!s || this.silent.has(sid)) continue;
          s.refresh();
          out.push(this.status(sid, s.mem.slice(addr, addr + len)));
        }
        return out;
      }
      case INSTR.SYNC_WRITE: {
        const [addr, len] = params;
        for (let i = 2; i + len < params.length + 1; i += len + 1) {
          const s = this.servos.get(params[i]);
          if (!s) continue;
          s.mem.set(params.subarray(i + 1, i + 1 + len), addr);
          if (this.ticksPerStep >= 4096 && s.torque) s.actual = s.goalActual();
          s.refresh();
        }
        return [];
      }
      default:
        return [];
    }
  }
}
