import { readFile } from 'node:fs/promises';
import { type FileMetaData, parquetMetadata, parquetReadObjects, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DatasetError } from './errors.js';
import type { FeatureSpec } from './features.js';

export type ParquetRow = Record<string, unknown>;

/** A parquet file read fully into memory (LeRobot data files are ≤100 MB by default). */
export interface LoadedParquet {
  path: string;
  buffer: ArrayBuffer;
  metadata: FileMetaData;
  numRows: number;
  columns: string[];
}

/** Reads a parquet file's bytes and footer; a missing or truncated file is a DatasetError naming it. */
export async function loadParquet(path: string, relPath = path): Promise<LoadedParquet> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DatasetError(relPath, '(file)', `cannot read parquet file: ${(e as Error).message}`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw new DatasetError(
      relPath,
      '(parquet footer)',
      `not a valid parquet file (${(e as Error).message}); it is truncated or corrupt — re-download or re-write it`,
    );
  }
  const schema = metadata.schema;
  const columns: string[] = [];
  for (let i = 1; i < schema.length; i = skipSubtree(schema, i)) columns.push(schema[i].name);
  return { path: relPath, buffer, metadata, numRows: Number(metadata.num_rows), columns };
}

function skipSubtree(schema: SchemaElement[], i: number): number {
  const n = schema[i].num_children ?? 0;
  let j = i + 1;
  for (let c = 0; c < n; c++) j = skipSubtree(schema, j);
  return j;
}

/** Reads the given top-level columns as row objects (binary stays Uint8Array; strings are decoded). */
export async function readRows(file: LoadedParquet, columns?: string[]): Promise<ParquetRow[]> {
  if (columns) {
    for (const c of columns) {
      if (!file.columns.includes(c)) {
        throw new DatasetError(file.path, c, `column is missing (file has ${file.columns.join(', ')})`);
      }
    }
  }
  try {
    return await parquetReadObjects({
      file: file.buffer,
      metadata: file.metadata,
      columns,
      compressors,
      utf8: false,
    });
  } catch (e) {
    throw new DatasetError(
      file.path,
      columns ? columns.join(',') : '(all columns)',
      `cannot decode parquet data (${(e as Error).message}); the file is truncated or corrupt`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Writing helpers: parquet schema + HF `datasets` features metadata for LeRobot data files.

const PHYSICAL: Record<string, Pick<SchemaElement, 'type' | 'converted_type'>> = {
  float32: { type: 'FLOAT' },
  float64: { type: 'DOUBLE' },
  int64: { type: 'INT64' },
  int32: { type: 'INT32' },
  bool: { type: 'BOOLEAN' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
};

/** Schema elements for one feature column (pyarrow's layout: 3-level LIST for vectors, struct for images). */
export function featureSchema(key: string, spec: FeatureSpec): SchemaElement[] {
  if (spec.dtype === 'image') {
    return [
      { name: key, repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY' },
      { name: 'path', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    ];
  }
  const phys = PHYSICAL[spec.dtype];
  if (!phys) throw new Error(`featureSchema: dtype ${spec.dtype} is not stored in parquet`);
  if (spec.shape.length === 1 && spec.shape[0] === 1) {
    return [{ name: key, repetition_type: 'OPTIONAL', ...phys }];
  }
  return listSchema(key, phys);
}

export function listSchema(
  key: string,
  phys: Pick<SchemaElement, 'type' | 'converted_type'>,
): SchemaElement[] {
  return [
    { name: key, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', ...phys },
  ];
}

/** HF `datasets` feature JSON (the `huggingface` key of the arrow schema metadata). */
export function hfFeature(spec: FeatureSpec): Record<string, unknown> {
  if (spec.dtype === 'image') return { _type: 'Image' };
  const dtype = spec.dtype === 'string' ? 'string' : spec.dtype;
  const value = { dtype, _type: 'Value' };
  if (spec.shape.length === 1 && spec.shape[0] === 1) return value;
  return { feature: value, length: spec.shape[0], _type: 'Sequence' };
}
