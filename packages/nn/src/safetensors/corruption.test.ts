import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from './decode.js';
import { encodeSafetensors } from './encode.js';
import { SafetensorsError } from './errors.js';

const SOURCE = 'bad.safetensors';

/** A file image assembled by hand: u64 LE length (declared, defaults to the real one), header, data. */
function assemble(header: string, data: number[] = [], declared?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  let n = declared ?? BigInt(json.length);
  for (let i = 0; i < 8; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function entry(dtype: string, shape: string, offsets: string): string {
  return `{"dtype":${dtype},"shape":${shape},"data_offsets":${offsets}}`;
}

function decodeError(bytes: Uint8Array): SafetensorsError {
  try {
    decodeSafetensors(bytes, { source: SOURCE });
  } catch (err) {
    expect(err).toBeInstanceOf(SafetensorsError);
    return err as SafetensorsError;
  }
  throw new Error('expected decodeSafetensors to throw');
}

/** Asserts the message names the file, the tensor (when given) and contains `detail`. */
function expectError(bytes: Uint8Array, tensor: string | undefined, detail: string): void {
  const err = decodeError(bytes);
  const prefix =
    tensor === undefined ? `safetensors ${SOURCE}: ` : `safetensors ${SOURCE}: tensor "${tensor}": `;
  expect(err.message.startsWith(prefix), err.message).toBe(true);
  expect(err.message).toContain(detail);
  expect(err.tensor).toBe(tensor);
}

const F32x2 = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];

describe('safetensors: strict header validation', () => {
  it('accepts the minimal valid file used as the base of the corruptions', () => {
    const ok = decodeSafetensors(assemble(`{"w":${entry('"F32"', '[2]', '[0,8]')}}`, F32x2));
    expect(ok.tensors.get('w')!.shape).toEqual([2]);
  });

  it('file shorter than 8 bytes', () => {
    expectError(
      new Uint8Array(5),
      undefined,
      'file is 5 bytes, shorter than the 8-byte header length prefix',
    );
  });

  it('header length larger than the file', () => {
    expectError(
      assemble('{}', [], 100n),
      undefined,
      'header length 100 runs past the end of the file (10 bytes)',
    );
  });

  it('absurd header length (> 100 MB), including u64 values beyond 2^53', () => {
    expectError(
      assemble('{}', [], 100_000_001n),
      undefined,
      'header length 100000001 exceeds the 100000000-byte limit',
    );
    expectError(assemble('{}', [], 2n ** 64n - 1n), undefined, 'header length 18446744073709551615 exceeds');
  });

  it('header not valid UTF-8', () => {
    const bytes = assemble('{ }');
    bytes[9] = 0xff;
    expectError(bytes, undefined, 'header is not valid UTF-8');
  });

  it('header not valid JSON', () => {
    expectError(assemble('{"w":'), undefined, 'header is not valid JSON');
    expectError(assemble('{}\0\0'), undefined, 'header is not valid JSON'); // NUL padding is not whitespace
  });

  it('header not a JSON object', () => {
    expectError(assemble('[1,2]'), undefined, 'header must be a JSON object (got an array)');
    expectError(assemble('null'), undefined, 'header must be a JSON object (got null)');
    expectError(assemble('"w"'), undefined, 'header must be a JSON object (got "w")');
  });

  it('entry not an object', () => {
    expectError(assemble('{"w":5}'), 'w', 'entry must be an object with dtype, shape, data_offsets (got 5)');
  });

  it('entry missing dtype, shape or data_offsets', () => {
    expectError(assemble('{"w":{"shape":[2],"data_offsets":[0,8]}}', F32x2), 'w', 'missing field "dtype"');
    expectError(assemble('{"w":{"dtype":"F32","data_offsets":[0,8]}}', F32x2), 'w', 'missing field "shape"');
    expectError(assemble('{"w":{"dtype":"F32","shape":[2]}}', F32x2), 'w', 'missing field "data_offsets"');
  });

  it('unknown dtype', () => {
    expectError(assemble(`{"w":${entry('"F17"', '[2]', '[0,8]')}}`, F32x2), 'w', 'unknown dtype "F17"');
    expectError(assemble(`{"w":${entry('4', '[2]', '[0,8]')}}`, F32x2), 'w', 'unknown dtype 4');
  });

  it('negative, non-integer or non-numeric shape dims', () => {
    expectError(assemble(`{"w":${entry('"F32"', '[-2]', '[0,8]')}}`, F32x2), 'w', 'shape[0] is -2');
    expectError(assemble(`{"w":${entry('"F32"', '[2,1.5]', '[0,8]')}}`, F32x2), 'w', 'shape[1] is 1.5');
    expectError(assemble(`{"w":${entry('"F32"', '["2"]', '[0,8]')}}`, F32x2), 'w', 'shape[0] is "2"');
    expectError(
      assemble(`{"w":${entry('"F32"', '2', '[0,8]')}}`, F32x2),
      'w',
      'field "shape" must be an array',
    );
  });

  it('data_offsets not two non-decreasing integers', () => {
    const detail = 'field "data_offsets" must be two non-decreasing non-negative integers [begin, end]';
    for (const offsets of ['[0]', '[0,4,8]', '[8,0]', '[-1,7]', '[0,7.5]', '["0",8]', '{"0":0,"1":8}']) {
      expectError(assemble(`{"w":${entry('"F32"', '[2]', offsets)}}`, F32x2), 'w', detail);
    }
  });

  it('byte length differs from prod(shape)·itemsize', () => {
    expectError(
      assemble(`{"w":${entry('"F32"', '[3]', '[0,8]')}}`, F32x2),
      'w',
      'data_offsets [0,8] span 8 bytes but dtype F32 with shape [3] needs 12',
    );
    expectError(
      assemble(`{"w":${entry('"F32"', '[1e300,1e300]', '[0,8]')}}`, F32x2),
      'w',
      'shape[0] is 1e+300', // not a safe integer
    );
  });

  it('offsets past the end of the buffer', () => {
    expectError(
      assemble(`{"w":${entry('"F32"', '[2]', '[0,8]')}}`, F32x2.slice(0, 6)),
      'w',
      'data_offsets [0,8] run past the end of the data buffer (6 bytes)',
    );
  });

  it('overlapping tensors', () => {
    const header = `{"a":${entry('"F32"', '[2]', '[0,8]')},"b":${entry('"F32"', '[2]', '[4,12]')}}`;
    expectError(
      assemble(header, [...F32x2, 0, 0, 0, 0]),
      'b',
      'data_offsets [4,12] overlap tensor "a" at [0,8]',
    );
  });

  it('gaps between tensors, at the start, or trailing bytes (tensors must tile the buffer)', () => {
    const between = `{"a":${entry('"F32"', '[2]', '[0,8]')},"b":${entry('"F32"', '[2]', '[12,20]')}}`;
    expectError(
      assemble(between, [...F32x2, 0, 0, 0, 0, ...F32x2]),
      'b',
      'data starts at byte 12, leaving a gap after tensor "a" (ends at 8)',
    );
    const start = `{"a":${entry('"F32"', '[2]', '[4,12]')}}`;
    expectError(
      assemble(start, [0, 0, 0, 0, ...F32x2]),
      'a',
      'leaving a gap after the start of the data buffer',
    );
    const trailing = `{"a":${entry('"F32"', '[2]', '[0,8]')}}`;
    expectError(
      assemble(trailing, [...F32x2, 9, 9]),
      'a',
      'data buffer has 10 bytes but the tensors cover only 8',
    );
    expectError(assemble('{}', [1]), undefined, 'data buffer has 1 bytes but the tensors cover only 0');
  });

  it('metadata that is not an object of strings', () => {
    expectError(
      assemble('{"__metadata__":{"step":10}}'),
      undefined,
      '"__metadata__" value for key "step" must be a string (got 10)',
    );
    expectError(assemble('{"__metadata__":["a"]}'), undefined, '"__metadata__" must be an object of strings');
    expect(decodeSafetensors(assemble('{"__metadata__":null}')).metadata).toEqual({});
  });

  it('duplicate keys in the JSON', () => {
    const w = entry('"F32"', '[2]', '[0,8]');
    expectError(assemble(`{"w":${w},"w":${w}}`, F32x2), undefined, 'header has duplicate key "w"');
    expectError(
      assemble('{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}', F32x2),
      'w',
      'duplicate field "dtype"',
    );
    expectError(
      assemble('{"__metadata__":{"a":"1","a":"2"}}'),
      undefined,
      '"__metadata__" has duplicate key "a"',
    );
    // Escaped spellings of the same key are duplicates too; equal strings as values are not.
    expectError(assemble(`{"w":${w},"\\u0077":${w}}`, F32x2), undefined, 'header has duplicate key "w"');
    expect(decodeSafetensors(assemble('{"__metadata__":{"a":"a","b":"a"}}')).metadata).toEqual({
      a: 'a',
      b: 'a',
    });
  });

  it('encoder rejects what the decoder would reject, naming the tensor', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } })).toThrow(
      'safetensors encode: tensor "w": data has 8 bytes but dtype F32 with shape [3] needs 12',
    );
    expect(() =>
      encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }),
    ).toThrow('"__metadata__" is reserved');
    expect(() => encodeSafetensors({}, { step: 3 as unknown as string })).toThrow(
      'metadata value for key "step" must be a string',
    );
  });
});
