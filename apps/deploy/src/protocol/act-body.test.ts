import { describe, expect, it } from 'vitest';
import { JsonNumpyBytes, parseActBody } from './act-body.js';
import { parseJsonNumpy } from './json-numpy.js';

const KEYS = new Set(['image0', 'image1', 'proprio']);

let seed = 7; // mulberry32
const rand = (n: number) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
};

/** `json_numpy.dumps(array)`: Python's json separators (", ", ": ") unless compact. */
function jnp(bytes: Uint8Array, dtype: string, shape: number[], compact = false): string {
  const o = { __numpy__: Buffer.from(bytes).toString('base64'), dtype, shape };
  return compact ? JSON.stringify(o) : JSON.stringify(o).replace(/","/g, '", "').replace(/":/g, '": ');
}

function body(compact: boolean): string {
  const img = (h: number, w: number) => Uint8Array.from({ length: h * w * 3 }, () => rand(256));
  const o = {
    language_instruction: 'open the drawer',
    proprio: jnp(new Uint8Array(new Float32Array([0.1, 0.2, 0.3, 1]).buffer), '<f4', [4], compact),
    image0: jnp(img(20, 20), '|u1', [20, 20, 3], compact),
    image1: jnp(img(20 + rand(4), 20), '|u1', [20, 20, 3], compact), // sometimes the wrong byte count
    domain_id: 2,
    steps: 10,
  };
  const text = JSON.stringify(o);
  return compact ? text : text.replace(/","/g, '", "').replace(/":/g, '": ');
}

/** What the server ends up with for a field: the parsed array, or the error it raises. */
function asArray(v: unknown): unknown {
  try {
    const a = parseJsonNumpy(v, 'f');
    return { dtype: a.dtype, shape: a.shape, data: Array.from(a.data as Uint8Array) };
  } catch (err) {
    return (err as Error).message;
  }
}

/** The fast path either declines (null) or agrees with JSON.parse + parseJsonNumpy. */
function check(bytes: Buffer): 'fast' | 'declined' {
  const fast = parseActBody(bytes, KEYS);
  let slow: unknown;
  let slowOk = true;
  try {
    slow = JSON.parse(bytes.toString('utf8'));
  } catch {
    slowOk = false;
  }
  if (fast === null) return 'declined';
  expect(slowOk, bytes.toString()).toBe(true);
  const s = slow as Record<string, unknown>;
  expect(Object.keys(fast)).toEqual(Object.keys(s));
  for (const k of Object.keys(s)) {
    const f = fast[k];
    if (f instanceof JsonNumpyBytes) {
      expect(typeof s[k]).toBe('string');
      expect(asArray(f)).toEqual(asArray(s[k]));
    } else expect(f).toEqual(s[k]);
  }
  return 'fast';
}

describe('parseActBody', () => {
  it('reads CALVIN-style bodies (Python and compact separators) like JSON.parse + parseJsonNumpy', () => {
    for (const compact of [false, true]) {
      const b = Buffer.from(body(compact));
      expect(check(b)).toBe('fast');
      const r = parseActBody(b, KEYS) as Record<string, unknown>;
      expect(r.image0).toBeInstanceOf(JsonNumpyBytes);
      expect(r.image1).toBeInstanceOf(JsonNumpyBytes);
      expect(typeof r.proprio).toBe('string'); // small: the plain path
      expect(r.domain_id).toBe(2);
    }
  });

  it('never disagrees with JSON.parse on mutated bodies', () => {
    const pieces = [
      '\\',
      '"',
      '\\"',
      '\\\\',
      '\\/',
      '\\u0041',
      ' ',
      '\n',
      ',',
      '}',
      '{',
      ']',
      'é',
      '\u0001',
      '-',
      '_',
      '=',
      'A',
      ':',
      '0',
    ];
    let fast = 0;
    let declined = 0;
    for (let i = 0; i < 3000; i++) {
      let t = body(rand(2) === 0);
      for (let k = 1 + rand(3); k > 0; k--) {
        const at = rand(t.length + 1);
        const p = pieces[rand(pieces.length)];
        t = rand(2) ? t.slice(0, at) + p + t.slice(at) : t.slice(0, at) + p + t.slice(at + 1);
      }
      if (check(Buffer.from(t)) === 'fast') fast++;
      else declined++;
    }
    // Most mutations land in a base64 payload (declined, or fast with the same error); both kinds occur.
    expect(fast).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });

  it('handles edge shapes: empty object, __proto__, repeated keys, non-objects, trailing bytes', () => {
    const cases = [
      '{}',
      ' { } ',
      '{"__proto__": 1, "a": [1, {"b": "}"}]}',
      '{"a": 1, "a": 2}',
      `{"image0": ${JSON.stringify(jnp(new Uint8Array(900), '|u1', [300, 1, 3]))}, "image0": 5}`,
      `{"image0": ${JSON.stringify(`{"x": ${jnp(new Uint8Array(900), '|u1', [300, 1, 3])}, "__numpy__": "\\u0001"}`)}}`,
      `{"language_instruction": ${JSON.stringify(jnp(new Uint8Array(900), '|u1', [300, 1, 3]))}}`,
      '[1, 2]',
      '{"a": 1} x',
      '{"a": 1,}',
      '{"a" 1}',
      '',
      '\ufeff{}',
    ];
    for (const c of cases) check(Buffer.from(c));
    const proto = parseActBody(Buffer.from('{"__proto__": 1}'), KEYS) as Record<string, unknown>;
    expect(Object.hasOwn(proto, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    // A json-numpy string under a key that is not an array field stays a string.
    const li = parseActBody(Buffer.from(cases[6]), KEYS) as Record<string, unknown>;
    expect(typeof li.language_instruction).toBe('string');
  });
});
