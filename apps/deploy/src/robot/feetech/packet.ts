/**
 * Feetech SCS/STS packets (Dynamixel-1.0-like):
 * instruction `FF FF ID LEN INSTR P… CHK`, status `FF FF ID LEN ERR P… CHK`, LEN = params + 2,
 * CHK = ~(ID + LEN + INSTR/ERR + ΣP) & 0xFF.
 */

export const BROADCAST_ID = 0xfe;
export const MAX_ID = 0xfc;

export const INSTR = {
  PING: 0x01,
  READ: 0x02,
  WRITE: 0x03,
  REG_WRITE: 0x04,
  ACTION: 0x05,
  SYNC_READ: 0x82,
  SYNC_WRITE: 0x83,
} as const;

/** Status ERR bits. */
export const STATUS_ERRORS: Record<number, string> = {
  1: 'input voltage',
  2: 'angle/sensor',
  4: 'overheat',
  8: 'over-current',
  32: 'overload',
};

export function checksum(bytes: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += bytes[i];
  return ~s & 0xff;
}

export function instructionPacket(id: number, instr: number, params: ArrayLike<number> = []): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || (id > MAX_ID && id !== BROADCAST_ID))
    throw new RangeError(`Feetech: servo id must be 0..${MAX_ID} or broadcast 0xFE, got ${id}`);
  const n = params.length;
  if (n + 2 > 0xff) throw new RangeError(`Feetech: packet with ${n} parameters is too long`);
  const p = new Uint8Array(n + 6);
  p[0] = 0xff;
  p[1] = 0xff;
  p[2] = id;
  p[3] = n + 2;
  p[4] = instr;
  for (let i = 0; i < n; i++) p[5 + i] = params[i] & 0xff;
  p[n + 5] = checksum(p, 2, n + 5);
  return p;
}

export interface StatusPacket {
  id: number;
  error: number;
  params: Uint8Array;
}

export type ParseResult =
  | { kind: 'need-more' }
  | { kind: 'packet'; packet: StatusPacket; consumed: number }
  | { kind: 'bad-checksum'; id: number; consumed: number }
  | { kind: 'garbage'; consumed: number };

/** Parses one packet from the front of `buf` (status or instruction: the layouts are the same). */
export function parsePacket(buf: Uint8Array): ParseResult {
  // Skip to the first FF FF header.
  let start = 0;
  while (start + 1 < buf.length && !(buf[start] === 0xff && buf[start + 1] === 0xff)) start++;
  if (start > 0) return { kind: 'garbage', consumed: start };
  if (buf.length < 4) return { kind: 'need-more' };
  // A third FF means the header is offset by one (FF FF FF ID …).
  if (buf[2] === 0xff) return { kind: 'garbage', consumed: 1 };
  const len = buf[3];
  if (len < 2) return { kind: 'garbage', consumed: 2 };
  const total = len + 4;
  if (buf.length < total) return { kind: 'need-more' };
  const id = buf[2];
  if (checksum(buf, 2, total - 1) !== buf[total - 1]) return { kind: 'bad-checksum', id, consumed: total };
  return { kind: 'packet', packet: { id, error: buf[4], params: buf.slice(5, total - 1) }, consumed: total };
}

export function describeStatusError(err: number): string {
  const parts = Object.entries(STATUS_ERRORS)
    .filter(([bit]) => err & Number(bit))
    .map(([, name]) => name);
  return parts.length ? parts.join(', ') : `0x${err.toString(16)}`;
}
