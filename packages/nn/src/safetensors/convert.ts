/** Stored safetensors entries ↔ tfjs tensors (tfjs holds float32, int32 and bool). */
import * as tf from '@tensorflow/tfjs';
import { fromLittleEndian, toLittleEndian } from './bytes.js';
import { itemSize, type SafetensorsDtype, type SafetensorsEntry } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from './half.js';

export interface ToTensorOptions {
  /** Tensor name for error messages. */
  name?: string;
  /** File or label for error messages. */
  source?: string;
}

/** Dtypes a float32 tfjs tensor may be stored as. */
export type FloatStorageDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export interface TensorToEntryOptions {
  /** Storage dtype for a float32 tensor (int32 → I32, bool → BOOL always). */
  floatDtype?: FloatStorageDtype;
  name?: string;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function narrowToInt32(
  values: ArrayLike<number | bigint>,
  fail: (detail: string) => Error,
  dtype: string,
): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (v < INT32_MIN || v > INT32_MAX) {
      throw fail(
        `${dtype} element ${i} = ${String(values[i])} does not fit in int32 (tfjs has no 64-bit integers)`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Element values of an entry in the typed array tfjs takes for it (float32, int32 or bool as 0/1 bytes). */
export function entryValues(
  entry: SafetensorsEntry,
  options: ToTensorOptions = {},
): Float32Array | Int32Array | Uint8Array {
  const fail = (detail: string) => new SafetensorsError(options.source ?? 'entry', options.name, detail);
  const { dtype, shape, data } = entry;
  const size = itemSize(dtype);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (data.length !== numel * size) {
    throw fail(
      `has ${data.length} bytes but dtype ${dtype} with shape ${JSON.stringify(shape)} needs ${numel * size}`,
    );
  }
  const buffer = fromLittleEndian(data, size);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(buffer));
    case 'F16':
      return f16ArrayToF32(new Uint16Array(buffer));
    case 'BF16':
      return bf16ArrayToF32(new Uint16Array(buffer));
    case 'I32':
      return new Int32Array(buffer);
    case 'I16':
      return Int32Array.from(new Int16Array(buffer));
    case 'U16':
      return Int32Array.from(new Uint16Array(buffer));
    case 'I8':
      return Int32Array.from(new Int8Array(buffer));
    case 'U8':
      return Int32Array.from(new Uint8Array(buffer));
    case 'U32':
      return narrowToInt32(new Uint32Array(buffer), fail, dtype);
    case 'I64':
      return narrowToInt32(new BigInt64Array(buffer), fail, dtype);
    case 'U64':
      return narrowToInt32(new BigUint64Array(buffer), fail, dtype);
    case 'BOOL': {
      const values = new Uint8Array(buffer);
      const bad = values.findIndex((v) => v > 1);
      if (bad >= 0) throw fail(`BOOL element ${bad} is ${values[bad]}; booleans must be stored as 0 or 1`);
      return values;
    }
    default:
      throw fail(
        `dtype ${dtype} has no tfjs conversion (supported: F32, F64, F16, BF16, integer types, BOOL)`,
      );
  }
}

/**
 * A new tfjs tensor for a stored entry: F32/F64/F16/BF16 → float32; I64/U64/U32 (range-checked), I32, I16,
 * U16, I8, U8 → int32; BOOL → bool.
 */
export function toTensor(entry: SafetensorsEntry, options: ToTensorOptions = {}): tf.Tensor {
  const values = entryValues(entry, options);
  const dtype = entry.dtype === 'BOOL' ? 'bool' : values instanceof Float32Array ? 'float32' : 'int32';
  return tf.tensor(values, [...entry.shape], dtype);
}

/** Converts every entry; on failure the tensors already created are disposed. The caller owns the result. */
export function toTensors(
  entries: ReadonlyMap<string, SafetensorsEntry>,
  options: Omit<ToTensorOptions, 'name'> = {},
): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, entry] of entries) out.set(name, toTensor(entry, { ...options, name }));
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/** Reads a tensor back (dataSync) into a stored entry. */
export function tensorToEntry(tensor: tf.Tensor, options: TensorToEntryOptions = {}): SafetensorsEntry {
  const fail = (detail: string) => new SafetensorsError('encode', options.name, detail);
  if (tensor.isDisposed) throw fail('tensor is disposed');
  const shape = [...tensor.shape];
  let dtype: SafetensorsDtype;
  let data: Uint8Array;
  if (tensor.dtype === 'float32') {
    const values = tensor.dataSync() as Float32Array;
    dtype = options.floatDtype ?? 'F32';
    if (dtype === 'F32') data = toLittleEndian(values, 4);
    else if (dtype === 'F16') data = toLittleEndian(f32ArrayToF16(values), 2);
    else if (dtype === 'BF16') data = toLittleEndian(f32ArrayToBf16(values), 2);
    else if (dtype === 'F64') data = toLittleEndian(Float64Array.from(values), 8);
    else throw fail(`floatDtype must be F32, F16, BF16 or F64 (got ${String(dtype)})`);
  } else if (tensor.dtype === 'int32') {
    dtype = 'I32';
    data = toLittleEndian(tensor.dataSync() as Int32Array, 4);
  } else if (tensor.dtype === 'bool') {
    dtype = 'BOOL';
    data = Uint8Array.from(tensor.dataSync() as Uint8Array, (v) => (v ? 1 : 0));
  } else {
    throw fail(`tfjs dtype ${tensor.dtype} cannot be stored in safetensors`);
  }
  return { dtype, shape, data };
}
