/**
 * A minimal numpy-array value for the wire formats (openpi msgpack-numpy, X-VLA json-numpy): a dtype
 * string as numpy's `dtype.str` writes it (`<f4`, `|u1`, `<f8`, …), a shape, and the typed data.
 */

export type NumericArray =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array;

export interface NdArray {
  dtype: string;
  shape: number[];
  data: NumericArray;
}

/** Thrown for any bad wire value; `field` names the offending field (e.g. `observation/state.dtype`). */
export class ProtocolError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ProtocolError';
  }
}

type Ctor = {
  new (buf: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
  BYTES_PER_ELEMENT: number;
};

const KINDS: Record<string, Ctor> = {
  f4: Float32Array,
  f8: Float64Array,
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  u8: BigUint64Array,
  i8: BigInt64Array,
};

/** Largest array the decoder accepts (elements); guards against a shape that claims gigabytes. */
export const MAX_ELEMENTS = 64 * 1024 * 1024;

function parseDtype(dtype: unknown, field: string): { ctor: Ctor; bigEndian: boolean } {
  if (typeof dtype !== 'string' || dtype.length !== 3)
    throw new ProtocolError(
      `${field}.dtype`,
      `must be a numpy dtype string such as '<f4' or '|u1', got ${JSON.stringify(dtype)}`,
    );
  const order = dtype[0];
  const ctor = KINDS[dtype.slice(1)];
  if (!ctor || !'<>|='.includes(order))
    throw new ProtocolError(
      `${field}.dtype`,
      `unsupported dtype ${JSON.stringify(dtype)} (numeric dtypes only: f4 f8 u1 i1 b1 u2 i2 u4 i4 u8 i8)`,
    );
  return { ctor, bigEndian: order === '>' && ctor.BYTES_PER_ELEMENT > 1 };
}

export function checkShape(shape: unknown, field: string): number[] {
  if (!Array.isArray(shape) || shape.length > 8)
    throw new ProtocolError(
      `${field}.shape`,
      `must be an array of at most 8 non-negative integers, got ${JSON.stringify(shape)}`,
    );
  let n = 1;
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0)
      throw new ProtocolError(
        `${field}.shape`,
        `entries must be non-negative integers, got ${JSON.stringify(shape)}`,
      );
    n *= s;
  }
  if (n > MAX_ELEMENTS)
    throw new ProtocolError(`${field}.shape`, `${n} elements exceeds the limit of ${MAX_ELEMENTS}`);
  return shape as number[];
}

/**
 * Builds an NdArray from raw C-order bytes, validating dtype, shape and byte length. With `view`, a
 * 1-byte dtype (`|u1`, `|i1`, `|b1`) is a view on `bytes` instead of a copy (the server's images: saves a
 * copy and ≈150 KB of garbage per 224² image); wider dtypes are always copied (alignment, byte order).
 */
export function ndarrayFromBytes(
  bytes: Uint8Array,
  dtype: unknown,
  shape: unknown,
  field: string,
  view = false,
): NdArray {
  const { ctor, bigEndian } = parseDtype(dtype, field);
  const dims = checkShape(shape, field);
  const count = dims.reduce((a, b) => a * b, 1);
  const width = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== count * width)
    throw new ProtocolError(
      `${field}.data`,
      `holds ${bytes.byteLength} bytes but dtype ${String(dtype)} and shape [${dims.join(', ')}] need ${count * width}`,
    );
  if (view && width === 1)
    return { dtype: dtype as string, shape: dims, data: new ctor(bytes.buffer, bytes.byteOffset, count) };
  // Copy into a fresh, aligned buffer (the source is usually a view into a larger message).
  const buf = new Uint8Array(count * width);
  buf.set(bytes);
  if (bigEndian) {
    for (let i = 0; i < buf.length; i += width) buf.subarray(i, i + width).reverse();
  }
  return { dtype: dtype as string, shape: dims, data: new ctor(buf.buffer) };
}

/** The little-endian dtype string of a typed array. */
export function dtypeOf(data: NumericArray): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigUint64Array) return '<u8';
  return '<i8';
}

export function ndarray(data: NumericArray, shape: number[]): NdArray {
  return { dtype: dtypeOf(data), shape, data };
}

export function bytesOf(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Any numeric NdArray as float32 values (int64 converted through Number). */
export function toFloat32(a: NdArray): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
  return out;
}

export function isNdArray(v: unknown): v is NdArray {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as NdArray).dtype === 'string' &&
    Array.isArray((v as NdArray).shape) &&
    ArrayBuffer.isView((v as NdArray).data)
  );
}
