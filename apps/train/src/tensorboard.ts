/**
 * TensorBoard scalar event files written by hand: TFRecord framing (length, masked CRC-32C of the
 * length, payload, masked CRC-32C of the payload) around `Event` protobufs (wall_time, step,
 * file_version, summary { value { tag, simple_value } } or session_log { status: START }). `readEvents`
 * parses them back; `readRun` applies TensorBoard's restart rule over a folder's files (tests).
 *
 * Resuming: a `SessionLog.START` event at step s makes TensorBoard drop every event with step ≥ s it read
 * before (EventAccumulator's restart purge), so the steps a killed run logged after its last checkpoint
 * do not show twice.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const masked = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): number[] {
  return [(field << 3) | 2, ...varint(payload.length), ...payload];
}

function encodeEvent(wallTime: number, step: number, body: number[]): Uint8Array {
  const wt = new Uint8Array(8);
  new DataView(wt.buffer).setFloat64(0, wallTime, true);
  return Uint8Array.from([0x09, ...wt, 0x10, ...varint(step), ...body]);
}

function scalarSummary(tag: string, value: number): number[] {
  const f = new Uint8Array(4);
  new DataView(f.buffer).setFloat32(0, value, true);
  const v = Uint8Array.from([...lengthDelimited(1, new TextEncoder().encode(tag)), 0x15, ...f]);
  const summary = Uint8Array.from(lengthDelimited(1, v));
  return lengthDelimited(5, summary);
}

function record(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(payload.length), 0);
  head.writeUInt32LE(masked(crc32c(head.subarray(0, 8))), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(masked(crc32c(payload)), 0);
  return Buffer.concat([head, payload, tail]);
}

export class EventWriter {
  readonly path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    // TensorBoard reads a folder's files in name order: the timestamp must grow even within one second.
    let secs = Math.floor(Date.now() / 1000);
    for (const f of readdirSync(dir)) {
      const m = /^events\.out\.tfevents\.(\d+)\./.exec(f);
      if (m) secs = Math.max(secs, Number(m[1]) + 1);
    }
    this.path = join(dir, `events.out.tfevents.${secs}.${hostname()}.${process.pid}`);
    const version = lengthDelimited(3, new TextEncoder().encode('brain.Event:2'));
    writeFileSync(this.path, record(encodeEvent(Date.now() / 1000, 0, version)));
  }

  /** A restart marker: TensorBoard discards earlier events with step ≥ `step`. */
  sessionStart(step: number): void {
    const sessionLog = lengthDelimited(7, Uint8Array.from([0x08, 0x01])); // SessionLog { status: START }
    appendFileSync(this.path, record(encodeEvent(Date.now() / 1000, step, sessionLog)));
  }

  scalars(step: number, values: Record<string, number>): void {
    const parts: Buffer[] = [];
    for (const [tag, v] of Object.entries(values))
      if (Number.isFinite(v)) parts.push(record(encodeEvent(Date.now() / 1000, step, scalarSummary(tag, v))));
    if (parts.length) appendFileSync(this.path, Buffer.concat(parts));
  }
}

export interface ScalarEvent {
  step: number;
  tag: string;
  value: number;
}

/** An event file's records in order: scalars, and `{ start: step }` for each SessionLog.START. */
type RunRecord = ScalarEvent | { start: number };

function readVarint(b: Uint8Array, pos: { i: number }): number {
  let out = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos.i++];
    out |= BigInt(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return Number(out);
    shift += 7n;
  }
}

/** Parses an event file (checking every CRC) into its scalar values. */
export function readEvents(path: string): ScalarEvent[] {
  return readRecords(path).filter((r): r is ScalarEvent => 'tag' in r);
}

/**
 * The scalars TensorBoard shows for a folder of event files: files in name (= creation time) order, and
 * each SessionLog.START at step s drops the events with step ≥ s read before it.
 */
export function readRun(dir: string): ScalarEvent[] {
  let out: ScalarEvent[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.startsWith('events.out.tfevents.'))
    .sort()) {
    for (const r of readRecords(join(dir, f))) {
      if ('start' in r) out = out.filter((e) => e.step < r.start);
      else out.push(r);
    }
  }
  return out;
}

function readRecords(path: string): RunRecord[] {
  const buf = readFileSync(path);
  const out: RunRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    if (buf.readUInt32LE(off + 8) !== masked(crc32c(buf.subarray(off, off + 8))))
      throw new Error(`${path}: bad length CRC at byte ${off}`);
    const payload = buf.subarray(off + 12, off + 12 + len);
    if (buf.readUInt32LE(off + 12 + len) !== masked(crc32c(payload)))
      throw new Error(`${path}: bad payload CRC at byte ${off}`);
    off += 16 + len;
    const pos = { i: 0 };
    let step = 0;
    let start = false;
    const values: { tag: string; value: number }[] = [];
    while (pos.i < payload.length) {
      const key = readVarint(payload, pos);
      const field = key >> 3;
      const wire = key & 7;
      if (wire === 1) pos.i += 8;
      else if (wire === 0) {
        const v = readVarint(payload, pos);
        if (field === 2) step = v;
      } else if (wire === 2) {
        const n = readVarint(payload, pos);
        const sub = payload.subarray(pos.i, pos.i + n);
        pos.i += n;
        if (field === 5) values.push(...parseSummary(sub));
        if (field === 7 && sub[0] === 0x08 && sub[1] === 0x01) start = true;
      } else throw new Error(`${path}: unexpected wire type ${wire}`);
    }
    if (start) out.push({ start: step });
    for (const v of values) out.push({ step, ...v });
  }
  return out;
}

function parseSummary(b: Uint8Array): { tag: string; value: number }[] {
  const out: { tag: string; value: number }[] = [];
  const pos = { i: 0 };
  while (pos.i < b.length) {
    readVarint(b, pos); // field 1, wire 2 (Value)
    const n = readVarint(b, pos);
    const v = b.subarray(pos.i, pos.i + n);
    pos.i += n;
    const p = { i: 0 };
    let tag = '';
    let value = Number.NaN;
    while (p.i < v.length) {
      const key = readVarint(v, p);
      if (key === 0x0a) {
        const m = readVarint(v, p);
        tag = new TextDecoder().decode(v.subarray(p.i, p.i + m));
        p.i += m;
      } else if (key === 0x15) {
        value = new DataView(v.buffer, v.byteOffset + p.i, 4).getFloat32(0, true);
        p.i += 4;
      } else throw new Error(`unexpected Value field key ${key}`);
    }
    out.push({ tag, value });
  }
  return out;
}
