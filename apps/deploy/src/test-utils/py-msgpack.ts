/**
 * Test-side stand-in for Python's `msgpack.packb(obj, default=openpi_client.msgpack_numpy.pack_array)`:
 * Python `bytes` → bin, `str` → str, numpy arrays → maps with **bin** keys. Written independently of the
 * server's encoder so the round-trip tests cross-check two implementations.
 */

export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}
export const b = (s: string) => new PyBytes(new TextEncoder().encode(s));

export interface PyArray {
  np: true;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}
export const npArray = (data: Float32Array | Float64Array | Uint8Array, shape: number[]): PyArray => ({
  np: true,
  dtype: data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : '|u1',
  shape,
  bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

type PyValue =
  | null
  | boolean
  | number
  | string
  | PyBytes
  | PyArray
  | PyValue[]
  | Map<PyValue, PyValue>
  | { [k: string]: PyValue };

export function packb(v: PyValue): Uint8Array {
  const out: number[] = [];
  const be = (n: number, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  };
  const raw = (u: Uint8Array) => {
    for (const x of u) out.push(x);
  };
  const enc = (x: PyValue): void => {
    if (x === null) out.push(0xc0);
    else if (x === true) out.push(0xc3);
    else if (x === false) out.push(0xc2);
    else if (typeof x === 'number') {
      if (Number.isInteger(x) && x >= 0 && x < 128) out.push(x);
      else if (Number.isInteger(x) && x >= 0 && x < 65536) {
        out.push(0xcd);
        be(x, 2);
      } else {
        out.push(0xcb);
        const dv = new DataView(new ArrayBuffer(8));
        dv.setFloat64(0, x);
        raw(new Uint8Array(dv.buffer));
      }
    } else if (typeof x === 'string') {
      const u = new TextEncoder().encode(x);
      if (u.length < 32) out.push(0xa0 | u.length);
      else {
        out.push(0xda);
        be(u.length, 2);
      }
      raw(u);
    } else if (x instanceof PyBytes) {
      out.push(0xc6);
      be(x.bytes.length, 4);
      raw(x.bytes);
    } else if (Array.isArray(x)) {
      out.push(0x90 | x.length);
      for (const y of x) enc(y);
    } else if (x instanceof Map) {
      out.push(0x80 | x.size);
      for (const [k, y] of x) {
        enc(k);
        enc(y);
      }
    } else if ('np' in x && x.np === true) {
      const a = x as PyArray;
      enc(
        new Map<PyValue, PyValue>([
          [b('__ndarray__'), true],
          [b('data'), new PyBytes(a.bytes)],
          [b('dtype'), a.dtype],
          [b('shape'), a.shape],
        ]),
      );
    } else {
      const entries = Object.entries(x as Record<string, PyValue>);
      out.push(0x80 | entries.length);
      for (const [k, y] of entries) {
        enc(k);
        enc(y);
      }
    }
  };
  enc(v);
  return Uint8Array.from(out);
}
