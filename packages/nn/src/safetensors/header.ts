/**
 * Strict parsing and validation of a safetensors header, matching the reference implementation: tensors,
 * sorted by data_offsets, must tile the data buffer exactly (no overlap, no gap, no trailing bytes).
 */
import {
  isSafetensorsDtype,
  itemSize,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsMetadata,
} from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { scanJson } from './json-scan.js';

export interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data buffer. */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** Absolute offset of the data buffer in the file (8 + header length). */
  dataStart: number;
  /** Tensors in file order (sorted by data_offsets). */
  entries: HeaderEntry[];
  metadata: SafetensorsMetadata;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? JSON.stringify(value)
    : typeof value === 'object'
      ? 'an object'
      : String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseMetadata(source: string, raw: unknown): SafetensorsMetadata {
  if (raw === null) return {}; // the reference reader accepts null (Option::None)
  if (!isPlainObject(raw)) {
    throw new SafetensorsError(
      source,
      undefined,
      `"${METADATA_KEY}" must be an object of strings (got ${describe(raw)})`,
    );
  }
  const metadata: SafetensorsMetadata = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        source,
        undefined,
        `"${METADATA_KEY}" value for key "${key}" must be a string (got ${describe(value)})`,
      );
    }
    metadata[key] = value;
  }
  return metadata;
}

function parseEntry(source: string, name: string, raw: unknown, dataLength: number): HeaderEntry {
  const fail = (detail: string) => new SafetensorsError(source, name, detail);
  if (!isPlainObject(raw))
    throw fail(`entry must be an object with dtype, shape, data_offsets (got ${describe(raw)})`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(raw, field)) throw fail(`missing field "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isSafetensorsDtype(dtype)) {
    throw fail(`unknown dtype ${describe(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape))
    throw fail(`field "shape" must be an array of non-negative integers (got ${describe(shape)})`);
  shape.forEach((dim: unknown, i) => {
    if (!isCount(dim)) throw fail(`shape[${i}] is ${describe(dim)}; dims must be non-negative integers`);
  });
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isCount(offsets[0]) ||
    !isCount(offsets[1]) ||
    offsets[1] < offsets[0]
  ) {
    throw fail(
      `field "data_offsets" must be two non-decreasing non-negative integers [begin, end] (got ${JSON.stringify(offsets).slice(0, 80)})`,
    );
  }
  const [begin, end] = offsets as [number, number];
  let nbytes = itemSize(dtype);
  for (const dim of shape as number[]) nbytes *= dim;
  if (!Number.isSafeInteger(nbytes))
    throw fail(`shape ${JSON.stringify(shape)} is too large (byte size overflows)`);
  if (end - begin !== nbytes) {
    throw fail(
      `data_offsets [${begin},${end}] span ${end - begin} bytes but dtype ${dtype} with shape ${JSON.stringify(shape)} needs ${nbytes}`,
    );
  }
  if (end > dataLength) {
    throw fail(`data_offsets [${begin},${end}] run past the end of the data buffer (${dataLength} bytes)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * Deepest JSON nesting accepted, as serde_json's recursion limit in the reference reader; a valid header
 * nests 3 levels (top object, entry, shape), so anything deeper is refused before JSON.parse sees it.
 */
export const MAX_HEADER_DEPTH = 128;

/**
 * Header length from the 8-byte prefix, checked against the 100 MB cap and the file size (`totalBytes`,
 * the whole file's length).
 */
export function headerLength(prefix: Uint8Array, totalBytes: number, source: string): number {
  const fail = (detail: string) => new SafetensorsError(source, undefined, detail);
  if (totalBytes < 8 || prefix.length < 8)
    throw fail(`file is ${totalBytes} bytes, shorter than the 8-byte header length prefix`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw fail(
      `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
    );
  }
  const n = Number(length);
  if (8 + n > totalBytes)
    throw fail(`header length ${n} runs past the end of the file (${totalBytes} bytes)`);
  return n;
}

/** Parses and validates the header of a complete safetensors file held in `bytes`. */
export function parseHeader(bytes: Uint8Array, source: string): ParsedHeader {
  const n = headerLength(bytes, bytes.length, source);
  return parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length - 8 - n, source);
}

/**
 * Parses and validates a header's JSON bytes (the `n` bytes after the prefix) for a data buffer of
 * `dataLength` bytes, in time linear in the header's size.
 */
export function parseHeaderJson(jsonBytes: Uint8Array, dataLength: number, source: string): ParsedHeader {
  const fail = (detail: string) => new SafetensorsError(source, undefined, detail);
  const n = jsonBytes.length;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(jsonBytes);
  } catch {
    throw fail('header is not valid UTF-8');
  }
  const scan = scanJson(text, MAX_HEADER_DEPTH);
  if (scan.tooDeep) {
    throw fail(
      `header nests JSON deeper than ${MAX_HEADER_DEPTH} levels (a safetensors header needs 3; corrupt or hostile file)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) throw fail(`header must be a JSON object (got ${describe(json)})`);
  const duplicate = scan.duplicate;
  if (duplicate !== null) {
    const [top, ...rest] = duplicate.path;
    if (top === undefined) throw fail(`header has duplicate key "${duplicate.key}"`);
    if (top === METADATA_KEY) throw fail(`"${METADATA_KEY}" has duplicate key "${duplicate.key}"`);
    const where = rest.length === 0 ? '' : ` (in ${rest.join('.')})`;
    throw new SafetensorsError(source, top, `duplicate field "${duplicate.key}"${where}`);
  }

  const dataStart = 8 + n;
  let metadata: SafetensorsMetadata = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(source, raw);
    else entries.push(parseEntry(source, name, raw, dataLength));
  }
  entries.sort(
    (a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < covered && previous !== undefined) {
      throw new SafetensorsError(
        source,
        entry.name,
        `data_offsets [${entry.begin},${entry.end}] overlap tensor "${previous.name}" at [${previous.begin},${previous.end}]`,
      );
    }
    if (entry.begin > covered) {
      const after =
        previous === undefined
          ? 'the start of the data buffer'
          : `tensor "${previous.name}" (ends at ${covered})`;
      throw new SafetensorsError(
        source,
        entry.name,
        `data starts at byte ${entry.begin}, leaving a gap after ${after}; tensors must cover the buffer without holes`,
      );
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) {
    const detail = `data buffer has ${dataLength} bytes but the tensors cover only ${covered}; trailing bytes are not allowed`;
    throw new SafetensorsError(
      source,
      previous?.name,
      previous === undefined ? detail : `${detail} (after this tensor)`,
    );
  }
  return { dataStart, entries, metadata };
}
