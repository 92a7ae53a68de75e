import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorToEntry, toTensor, toTensors } from './convert.js';
import { decodeSafetensors } from './decode.js';
import { itemSize, SAFETENSORS_DTYPES, type SafetensorsEntry } from './dtypes.js';
import { encodeSafetensors } from './encode.js';
import { loadSafetensors, saveSafetensors } from './file.js';

function headerLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

describe('safetensors: hand-assembled fixture', () => {
  it('decodes a file built byte by byte (out-of-order keys, metadata, space padding)', () => {
    // Header (246 bytes = 0xf6, including two trailing spaces); keys deliberately not in offset order.
    const header =
      '{"b":{"dtype":"I16","shape":[2],"data_offsets":[8,12]},"__metadata__":{"k":"v"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},' +
      '"z":{"dtype":"BF16","shape":[1],"data_offsets":[14,16]}}  ';
    expect(header.length).toBe(246);
    const bytes = new Uint8Array([
      0xf6,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // u64 LE header length
      ...Array.from(header, (c) => c.charCodeAt(0)),
      0,
      0,
      0x80,
      0x3f,
      0,
      0,
      0,
      0xc0, // a: F32 [1, -2]
      0x01,
      0x00,
      0xfe,
      0xff, // b: I16 [1, -2]
      0x00,
      0xb8, // h: F16 0xb800 = -0.5
      0x40,
      0xc0, // z: BF16 0xc040 = -3
    ]);
    const { tensors, metadata } = decodeSafetensors(bytes, { source: 'fixture' });
    expect(metadata).toEqual({ k: 'v' });
    expect([...tensors.keys()]).toEqual(['a', 'b', 'h', 'z']); // file (offset) order
    expect(tensors.get('b')).toEqual({ dtype: 'I16', shape: [2], data: new Uint8Array([1, 0, 0xfe, 0xff]) });
    const t = toTensors(tensors);
    expect(Array.from(t.get('a')!.dataSync())).toEqual([1, -2]);
    expect(t.get('a')!.dtype).toBe('float32');
    expect(Array.from(t.get('b')!.dataSync())).toEqual([1, -2]);
    expect(t.get('b')!.dtype).toBe('int32');
    expect(Array.from(t.get('h')!.dataSync())).toEqual([-0.5]);
    expect(Array.from(t.get('z')!.dataSync())).toEqual([-3]);
    tf.dispose([...t.values()]);
  });

  it('encodes exactly the bytes of the reference implementation for a single F32 tensor', () => {
    // Test vector from huggingface/safetensors (tensor.rs, test_serialization): "attn.0" F32 [1,2,3] = 0..5.
    const expected = [
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101,
      34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34,
      100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    const t = tf.tensor3d([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    expect(Array.from(encodeSafetensors(new Map([['attn.0', t]])))).toEqual(expected);
    t.dispose();
    // Empty file with metadata {"framework": "pt"}: header padded with 5 spaces to 40 bytes.
    const empty = encodeSafetensors({}, { framework: 'pt' });
    expect(Array.from(empty.subarray(0, 8))).toEqual([40, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(empty.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
  });
});

describe('safetensors: round trips', () => {
  it('round-trips raw entries of every dtype with 8-byte header padding and aligned tensors', () => {
    const input: Record<string, SafetensorsEntry> = {};
    SAFETENSORS_DTYPES.forEach((dtype, k) => {
      const shape = [2, 3];
      const n = 6 * itemSize(dtype);
      const data = Uint8Array.from({ length: n }, (_, i) => (dtype === 'BOOL' ? i % 2 : (i * 37 + k) & 0xff));
      input[`t.${dtype}`] = { dtype, shape, data };
    });
    input.scalar = { dtype: 'F32', shape: [], data: new Uint8Array([0, 0, 0x80, 0x3f]) };
    input.empty = { dtype: 'F64', shape: [0, 3], data: new Uint8Array(0) };
    const bytes = encodeSafetensors(input, { note: 'all dtypes', ünïcode: 'ok ✓' });
    const n = headerLength(bytes);
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
      string,
      { dtype: (typeof SAFETENSORS_DTYPES)[number]; data_offsets: [number, number] }
    >;
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      expect((8 + n + info.data_offsets[0]) % itemSize(info.dtype), `${name} aligned`).toBe(0);
    }
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual({ note: 'all dtypes', ünïcode: 'ok ✓' });
    expect(new Map(Object.entries(input))).toEqual(decoded.tensors);
    // Deterministic: same input, same bytes.
    expect(encodeSafetensors(input, { ünïcode: 'ok ✓', note: 'all dtypes' })).toEqual(bytes);
  });

  it('round-trips tfjs tensors (float32 as F32/F16/BF16/F64, int32, bool) through toTensor', () => {
    const f = tf.tensor2d([0.5, -1.25, 3, 1e-3], [2, 2]);
    const i = tf.tensor1d([-7, 0, 2 ** 31 - 1], 'int32');
    const b = tf.tensor1d([true, false, true], 'bool');
    const s = tf.scalar(2.5);
    const bytes = encodeSafetensors({ f, i, b, s });
    const back = toTensors(decodeSafetensors(bytes).tensors);
    for (const [name, orig] of Object.entries({ f, i, b, s })) {
      const got = back.get(name)!;
      expect(got.dtype, name).toBe(orig.dtype);
      expect(got.shape, name).toEqual(orig.shape);
      expect(Array.from(got.dataSync()), name).toEqual(Array.from(orig.dataSync()));
    }
    tf.dispose([...back.values()]);

    const entries = decodeSafetensors(encodeSafetensors({ f })).tensors;
    expect(entries.get('f')!.dtype).toBe('F32');
    const x = tf.tensor1d([1, -2, 0.5, 0.15625, 256, -3, 0]); // exact in F16 and BF16
    for (const floatDtype of ['F16', 'BF16', 'F64'] as const) {
      const entry = tensorToEntry(x, { floatDtype });
      expect(entry.dtype).toBe(floatDtype);
      const y = toTensor(decodeSafetensors(encodeSafetensors({ x: entry })).tensors.get('x')!);
      expect(y.dtype).toBe('float32');
      expect(Array.from(y.dataSync()), floatDtype).toEqual([1, -2, 0.5, 0.15625, 256, -3, 0]);
      y.dispose();
    }
    x.dispose();
    tf.dispose([f, i, b, s]);
  });

  it('toTensor widens I64/U8/I8 and F64, and rejects out-of-range or malformed values naming the tensor', () => {
    const i64 = new Uint8Array(new BigInt64Array([-5n, 2n ** 31n - 1n]).buffer);
    const t1 = toTensor({ dtype: 'I64', shape: [2], data: i64 });
    expect(Array.from(t1.dataSync())).toEqual([-5, 2 ** 31 - 1]);
    const t2 = toTensor({ dtype: 'I8', shape: [2], data: new Uint8Array([0xff, 0x7f]) });
    expect(Array.from(t2.dataSync())).toEqual([-1, 127]);
    const t3 = toTensor({ dtype: 'F64', shape: [1], data: new Uint8Array(new Float64Array([0.1]).buffer) });
    expect(t3.dataSync()[0]).toBe(Math.fround(0.1));
    tf.dispose([t1, t2, t3]);
    const big = new Uint8Array(new BigInt64Array([2n ** 40n]).buffer);
    expect(() =>
      toTensor({ dtype: 'I64', shape: [1], data: big }, { name: 'ids', source: 'm.safetensors' }),
    ).toThrow('safetensors m.safetensors: tensor "ids": I64 element 0 = 1099511627776 does not fit in int32');
    expect(() =>
      toTensor({ dtype: 'BOOL', shape: [1], data: new Uint8Array([2]) }, { name: 'mask' }),
    ).toThrow('tensor "mask": BOOL element 0 is 2');
    expect(() => toTensor({ dtype: 'F8_E4M3', shape: [1], data: new Uint8Array(1) }, { name: 'q' })).toThrow(
      'tensor "q": dtype F8_E4M3 has no tfjs conversion',
    );
  });
});

describe('safetensors: files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nn-safetensors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves atomically (no temp file left, overwrite replaces) and loads back', async () => {
    const path = join(dir, 'ckpt.safetensors');
    await writeFile(path, 'old contents');
    const w = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    await saveSafetensors(path, { 'layer.w': w }, { step: '10' });
    w.dispose();
    expect(await readdir(dir)).toEqual(['ckpt.safetensors']);
    const { tensors, metadata } = await loadSafetensors(path);
    expect(metadata).toEqual({ step: '10' });
    const t = toTensor(tensors.get('layer.w')!);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    t.dispose();
  });

  it('load errors name the file', async () => {
    const path = join(dir, 'broken.safetensors');
    const good = await readFile(join(dir, 'ckpt.safetensors'));
    await writeFile(path, good.subarray(0, good.length - 1));
    await expect(loadSafetensors(path)).rejects.toThrow(
      `safetensors ${path}: tensor "layer.w": data_offsets [0,16]`,
    );
  });

  it('a failed save leaves no temp file and the old file intact', async () => {
    const path = join(dir, 'ckpt.safetensors');
    const before = await readFile(path);
    const bad = { dtype: 'F32' as const, shape: [2], data: new Uint8Array(3) };
    await expect(saveSafetensors(path, { bad })).rejects.toThrow('tensor "bad": data has 3 bytes');
    await expect(saveSafetensors(join(dir, 'missing', 'x.safetensors'), {})).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).sort()).toEqual(['broken.safetensors', 'ckpt.safetensors']);
    expect(await readFile(path)).toEqual(before);
  });
});
