/** The safetensors dtype table: element sizes and the reference writer's ordering. */

/**
 * Dtypes in the order of the reference implementation's `Dtype` enum (increasing alignment); the writer
 * lays tensors out by descending rank so each is aligned to its element size.
 */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
] as const;

export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const ITEM_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(ITEM_SIZE, value);
}

export function itemSize(dtype: SafetensorsDtype): number {
  return ITEM_SIZE[dtype];
}

export function dtypeRank(dtype: SafetensorsDtype): number {
  return SAFETENSORS_DTYPES.indexOf(dtype);
}

/** One tensor as stored: raw C-contiguous little-endian bytes. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** Free-form string → string map stored under "__metadata__". */
export type SafetensorsMetadata = Record<string, string>;

export const METADATA_KEY = '__metadata__';

/** Largest header the reader accepts, as in the reference implementation (MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;
