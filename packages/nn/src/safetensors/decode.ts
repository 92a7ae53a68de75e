/** Deserialization of safetensors bytes into raw entries (strictly validated; see header.ts). */
import type { SafetensorsEntry, SafetensorsMetadata } from './dtypes.js';
import { parseHeader } from './header.js';

export interface DecodeOptions {
  /** Names the bytes (usually the file path) in error messages. */
  source?: string;
}

export interface DecodedSafetensors {
  /** Entries in file order; each `data` is a copy, independent of the input bytes. */
  tensors: Map<string, SafetensorsEntry>;
  metadata: SafetensorsMetadata;
}

export function decodeSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: DecodeOptions = {},
): DecodedSafetensors {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const { dataStart, entries, metadata } = parseHeader(view, options.source ?? '<bytes>');
  const tensors = new Map<string, SafetensorsEntry>();
  for (const { name, dtype, shape, begin, end } of entries) {
    tensors.set(name, { dtype, shape, data: view.slice(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata };
}
