/** Serialization to safetensors bytes, laid out like the reference writer (aligned, deterministic). */
import * as tf from '@tensorflow/tfjs';
import { tensorToEntry } from './convert.js';
import {
  dtypeRank,
  isSafetensorsDtype,
  itemSize,
  METADATA_KEY,
  type SafetensorsEntry,
  type SafetensorsMetadata,
} from './dtypes.js';
import { SafetensorsError } from './errors.js';

/** Tensors to write: tfjs tensors (read back with dataSync) and/or raw entries, keyed by name. */
export type SafetensorsInput =
  | ReadonlyMap<string, tf.Tensor | SafetensorsEntry>
  | Readonly<Record<string, tf.Tensor | SafetensorsEntry>>;

const SOURCE = 'encode';
const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b)); // byte order, as Rust's String ordering
}

function checkEntry(name: string, entry: SafetensorsEntry): SafetensorsEntry {
  const fail = (detail: string) => new SafetensorsError(SOURCE, name, detail);
  if (entry === null || typeof entry !== 'object')
    throw fail('value must be a tf.Tensor or { dtype, shape, data }');
  if (!isSafetensorsDtype(entry.dtype)) throw fail(`unknown dtype ${JSON.stringify(entry.dtype)}`);
  if (!Array.isArray(entry.shape)) throw fail('shape must be an array of non-negative integers');
  entry.shape.forEach((dim, i) => {
    if (!Number.isSafeInteger(dim) || dim < 0)
      throw fail(`shape[${i}] is ${dim}; dims must be non-negative integers`);
  });
  if (!(entry.data instanceof Uint8Array)) throw fail('data must be a Uint8Array of little-endian bytes');
  const nbytes = entry.shape.reduce((a, b) => a * b, itemSize(entry.dtype));
  if (entry.data.length !== nbytes) {
    throw fail(
      `data has ${entry.data.length} bytes but dtype ${entry.dtype} with shape ${JSON.stringify(entry.shape)} needs ${nbytes}`,
    );
  }
  return entry;
}

/**
 * Encodes tensors (+ optional string metadata) as a safetensors file image. Tensors are laid out by
 * descending dtype alignment then name (the reference writer's order), the header is space-padded to a
 * multiple of 8, so every tensor starts at a multiple of its element size.
 */
export function encodeSafetensors(tensors: SafetensorsInput, metadata?: SafetensorsMetadata): Uint8Array {
  const input = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const entries: Array<[string, SafetensorsEntry]> = input.map(([name, value]) => {
    if (name === METADATA_KEY)
      throw new SafetensorsError(SOURCE, name, `"${METADATA_KEY}" is reserved and cannot name a tensor`);
    return [name, value instanceof tf.Tensor ? tensorToEntry(value, { name }) : checkEntry(name, value)];
  });
  entries.sort(([an, a], [bn, b]) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareUtf8(an, bn));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object')
      throw new SafetensorsError(SOURCE, undefined, 'metadata must be an object of strings');
    const sorted: SafetensorsMetadata = {};
    for (const key of Object.keys(metadata).sort(compareUtf8)) {
      const value: unknown = metadata[key];
      if (typeof value !== 'string') {
        throw new SafetensorsError(
          SOURCE,
          undefined,
          `metadata value for key "${key}" must be a string (got ${typeof value})`,
        );
      }
      sorted[key] = value;
    }
    header[METADATA_KEY] = sorted;
  }
  let offset = 0;
  for (const [name, entry] of entries) {
    header[name] = {
      dtype: entry.dtype,
      shape: entry.shape,
      data_offsets: [offset, offset + entry.data.length],
    };
    offset += entry.data.length;
  }
  const json = utf8.encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // space padding keeps the header valid JSON
  let at = 8 + headerLength;
  for (const [, entry] of entries) {
    out.set(entry.data, at);
    at += entry.data.length;
  }
  return out;
}
