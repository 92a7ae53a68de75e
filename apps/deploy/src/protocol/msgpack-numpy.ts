/**
 * openpi's msgpack-numpy wire format (openpi_client/msgpack_numpy.py): numpy arrays travel as msgpack
 * maps `{b"__ndarray__": true, b"data": <bin>, b"dtype": "<f4", b"shape": [..]}` whose four keys are
 * **bin-typed**; numpy scalars as `{b"__npgeneric__": true, b"data": x, b"dtype": ".."}`.
 *
 * Decoding accepts bin or str keys (bin keys are read as their UTF-8 text), rebuilds arrays as NdArray
 * and numpy scalars as numbers. Encoding writes the marker keys as bin, like the Python client.
 */

import { Decoder } from '@msgpack/msgpack';
import { MsgpackWriter } from './msgpack-writer.js';
import { ndarrayFromBytes, ProtocolError } from './ndarray.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function mapKeyConverter(key: unknown): string | number {
  if (typeof key === 'string' || typeof key === 'number') return key;
  if (key instanceof Uint8Array) {
    try {
      return utf8.decode(key);
    } catch {
      throw new ProtocolError('msgpack', 'a binary map key is not valid UTF-8');
    }
  }
  throw new ProtocolError('msgpack', `map keys must be str or bin, got ${typeof key}`);
}

/** Limits keep a hostile message from allocating without bound before validation. */
const decoder = new Decoder({
  mapKeyConverter,
  maxStrLength: 1 << 20,
  maxArrayLength: 1 << 16,
  maxMapLength: 1 << 12,
  maxExtLength: 0,
});

const has = (o: object, k: string) => Object.hasOwn(o, k);

function revive(v: unknown, path: string, depth: number, view: boolean): unknown {
  if (depth > 32) throw new ProtocolError(path || 'message', 'nesting deeper than 32');
  if (Array.isArray(v)) return v.map((x, i) => revive(x, `${path}[${i}]`, depth + 1, view));
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  const o = v as Record<string, unknown>;
  if (has(o, '__ndarray__')) {
    const data = o.data;
    if (!(data instanceof Uint8Array))
      throw new ProtocolError(`${path}.data`, 'must be msgpack bin (raw C-order bytes)');
    return ndarrayFromBytes(data, o.dtype, o.shape, path || 'message', view);
  }
  if (has(o, '__npgeneric__')) {
    const x = o.data;
    if (typeof x !== 'number' && typeof x !== 'boolean' && typeof x !== 'bigint')
      throw new ProtocolError(`${path}.data`, 'a numpy scalar must hold a number or bool');
    return typeof x === 'bigint' ? Number(x) : x;
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(o)) out[k] = revive(o[k], path ? `${path}.${k}` : k, depth + 1, view);
  return out;
}

export interface UnpackOptions {
  /**
   * 1-byte arrays (images) as views on `bytes` rather than copies (default false). Only for a caller
   * that does not change `bytes` while it uses the result, and copies what it keeps (the server resizes
   * images into fresh buffers).
   */
  view?: boolean;
}

/** Decodes one openpi message; throws ProtocolError (naming the field) on anything malformed. */
export function unpackNumpy(bytes: Uint8Array, options: UnpackOptions = {}): unknown {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError('msgpack', `cannot decode: ${(err as Error).message}`);
  }
  return revive(raw, '', 0, options.view === true);
}

const writer = new MsgpackWriter();

/** Encodes a value; NdArray values become msgpack-numpy maps with bin keys. */
export function packNumpy(value: unknown): Uint8Array {
  return writer.encode(value);
}
