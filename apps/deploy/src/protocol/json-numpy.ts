/**
 * X-VLA's json-numpy wire format: `{"__numpy__": base64(raw bytes), "dtype": "<f4", "shape": [..]}`.
 * In a `/act` body such a value usually arrives as a JSON **string** holding that object
 * (`json_numpy.dumps(array)` inside the outer JSON); both forms are accepted here.
 */

import { JsonNumpyBytes } from './act-body.js';
import { decodeBase64Strict } from './base64.js';
import { bytesOf, checkShape, type NdArray, ndarrayFromBytes, ProtocolError } from './ndarray.js';

/**
 * Parses a json-numpy value (object or JSON string), or a nested list of numbers (as float64). A
 * `JsonNumpyBytes` (from `parseActBody`) is a json-numpy string whose base64 is already decoded.
 */
export function parseJsonNumpy(value: unknown, field: string): NdArray {
  // The decoded base64 is this array's own buffer: a 1-byte array may be a view on it.
  if (value instanceof JsonNumpyBytes)
    return ndarrayFromBytes(value.bytes, value.dtype, value.shape, field, true);
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new ProtocolError(field, 'is a string but not JSON (expected json_numpy.dumps(array))');
    }
  }
  if (Array.isArray(v)) return fromNestedList(v, field);
  if (typeof v !== 'object' || v === null || !Object.hasOwn(v, '__numpy__'))
    throw new ProtocolError(
      field,
      'must be a json-numpy object {"__numpy__", "dtype", "shape"} or a nested list',
    );
  const o = v as Record<string, unknown>;
  const b64 = o.__numpy__;
  const bytes = typeof b64 === 'string' ? decodeBase64Strict(b64) : null;
  if (bytes === null) throw new ProtocolError(`${field}.__numpy__`, 'must be a base64 string');
  return ndarrayFromBytes(bytes, o.dtype, o.shape, field, true);
}

function fromNestedList(v: unknown[], field: string): NdArray {
  const shape: number[] = [];
  let cur: unknown = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  checkShape(shape, field);
  const flat = (v as unknown[]).flat(shape.length) as unknown[];
  const n = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== n) throw new ProtocolError(field, 'nested list is ragged');
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = flat[i];
    if (typeof x !== 'number') throw new ProtocolError(field, `entry ${i} is not a number`);
    data[i] = x;
  }
  return { dtype: '<f8', shape, data };
}

/** Encodes an NdArray as a json-numpy object (what `json_numpy.dumps` produces, parsed). */
export function toJsonNumpy(a: NdArray): { __numpy__: string; dtype: string; shape: number[] } {
  return { __numpy__: Buffer.from(bytesOf(a.data)).toString('base64'), dtype: a.dtype, shape: a.shape };
}
