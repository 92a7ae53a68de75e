/**
 * A small MessagePack encoder that can write **bin-typed map keys**, which openpi's msgpack-numpy needs
 * (`b"__ndarray__"`, `b"data"`, `b"dtype"`, `b"shape"`): `@msgpack/msgpack` encodes only string keys.
 *
 * Values: null/undefined (nil), boolean, number (int family when an integer in int64 range, else float64),
 * bigint (int64/uint64), string, Uint8Array (bin), other typed arrays (bin of their bytes), arrays,
 * `Map` (keys may be strings, numbers or Uint8Array → bin keys), plain objects (string keys), and
 * `NdArray` (encoded as openpi's msgpack-numpy map).
 */

import { bytesOf, isNdArray, type NdArray } from './ndarray.js';

const utf8 = new TextEncoder();
const BIN_KEYS = {
  ndarray: utf8.encode('__ndarray__'),
  data: utf8.encode('data'),
  dtype: utf8.encode('dtype'),
  shape: utf8.encode('shape'),
};

export class MsgpackWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  encode(value: unknown): Uint8Array {
    this.pos = 0;
    this.value(value, 0);
    return this.buf.slice(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  private header(
    small: number,
    smallMax: number,
    c8: number | null,
    c16: number,
    c32: number,
    n: number,
  ): void {
    this.ensure(5);
    if (n <= smallMax && small >= 0) this.buf[this.pos++] = small | n;
    else if (c8 !== null && n < 0x100) {
      this.buf[this.pos++] = c8;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = c16;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = c32;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  private bytes(b: Uint8Array): void {
    this.header(-1, -1, 0xc4, 0xc5, 0xc6, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private str(s: string): void {
    const b = utf8.encode(s);
    this.header(0xa0, 31, 0xd9, 0xda, 0xdb, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private number(v: number): void {
    this.ensure(9);
    if (Number.isInteger(v) && v >= 0 && v < 0x80) this.buf[this.pos++] = v;
    else if (Number.isInteger(v) && v < 0 && v >= -32) this.buf[this.pos++] = v & 0xff;
    else if (Number.isSafeInteger(v)) {
      this.buf[this.pos++] = v < 0 ? 0xd3 : 0xcf;
      if (v < 0) this.view.setBigInt64(this.pos, BigInt(v));
      else this.view.setBigUint64(this.pos, BigInt(v));
      this.pos += 8;
    } else {
      this.buf[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  private ndarray(a: NdArray, depth: number): void {
    this.u8(0x84);
    this.bytes(BIN_KEYS.ndarray);
    this.u8(0xc3);
    this.bytes(BIN_KEYS.data);
    this.bytes(bytesOf(a.data));
    this.bytes(BIN_KEYS.dtype);
    this.str(a.dtype);
    this.bytes(BIN_KEYS.shape);
    this.value(a.shape, depth + 1);
  }

  private value(v: unknown, depth: number): void {
    if (depth > 64) throw new Error('msgpack: nesting deeper than 64');
    if (v === null || v === undefined) this.u8(0xc0);
    else if (typeof v === 'boolean') this.u8(v ? 0xc3 : 0xc2);
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'bigint') {
      this.ensure(9);
      this.buf[this.pos++] = v < 0n ? 0xd3 : 0xcf;
      if (v < 0n) this.view.setBigInt64(this.pos, v);
      else this.view.setBigUint64(this.pos, v);
      this.pos += 8;
    } else if (typeof v === 'string') this.str(v);
    else if (v instanceof Uint8Array) this.bytes(v);
    else if (ArrayBuffer.isView(v)) this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    else if (Array.isArray(v)) {
      this.header(0x90, 15, null, 0xdc, 0xdd, v.length);
      for (const x of v) this.value(x, depth + 1);
    } else if (isNdArray(v)) this.ndarray(v, depth);
    else if (v instanceof Map) {
      this.header(0x80, 15, null, 0xde, 0xdf, v.size);
      for (const [k, x] of v) {
        this.value(k, depth + 1);
        this.value(x, depth + 1);
      }
    } else if (typeof v === 'object') {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      this.header(0x80, 15, null, 0xde, 0xdf, entries.length);
      for (const [k, x] of entries) {
        this.str(k);
        this.value(x, depth + 1);
      }
    } else throw new Error(`msgpack: cannot encode a ${typeof v}`);
  }
}
