/**
 * Fast path for X-VLA `/act` bodies. A CALVIN request is ≈800 KB of JSON, nearly all of it two images as
 * json-numpy **strings** (`"{\"__numpy__\": \"<base64>\", \"dtype\": \"|u1\", \"shape\": [...]}"`).
 * Parsing that the plain way (`toString` of the body, `JSON.parse`, then `JSON.parse` of each inner
 * string) walks and copies every base64 byte three times and leaves ≈2 MB of strings per request for the
 * GC: ≈2 ms of the main thread on the 2-core VM.
 *
 * `parseActBody` splits the top-level object itself (string tokens are skipped with `indexOf`), parses
 * keys and small values with `JSON.parse`, and for the array fields (`arrayKeys`) turns a json-numpy
 * string into a `JsonNumpyBytes` (base64 decoded straight from the body bytes), which `parseJsonNumpy`
 * validates exactly as it validates the parsed string. It returns `null` for anything it is not sure of
 * (not an object, a syntax error anywhere, an escape other than `\"`, non-ASCII text, a payload that is
 * not strict base64, …); the caller then takes the plain path, so errors and results are unchanged.
 * `act-body.test.ts` compares both paths on valid and mutated bodies.
 */

import { decodeBase64Strict } from './base64.js';

/** A json-numpy value whose base64 payload is already decoded; `dtype`/`shape` are not yet validated. */
export class JsonNumpyBytes {
  constructor(
    readonly bytes: Buffer,
    readonly dtype: unknown,
    readonly shape: unknown,
  ) {}
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** String values longer than this (bytes) are candidates for the json-numpy fast path. */
const LARGE = 1024;
/** A run of bytes without escapes longer than this is taken as the base64 payload. */
const RUN = 256;
/** Stands in for the payload in the small inner JSON; cannot occur in text that passed the checks below. */
const SENTINEL = '\u0001';

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i])) i++;
  return i;
}

/** End (exclusive) of the string token that starts at `b[i] === '"'`, or -1. */
function stringEnd(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let n = 0;
    while (b[q - 1 - n] === BACKSLASH) n++;
    if (n % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** End (exclusive) of a non-string value: the first `,` `}` or `]` outside strings at depth 0, or -1. */
function valueEnd(b: Buffer, i: number): number {
  let depth = 0;
  while (i < b.length) {
    const c = b[i];
    if (c === QUOTE) {
      const e = stringEnd(b, i);
      if (e < 0) return -1;
      i = e;
      continue;
    }
    if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (depth === 0) return i;
      depth--;
    } else if (c === 0x2c && depth === 0) return i;
    i++;
  }
  return -1;
}

function json(b: Buffer, start: number, end: number): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(b.toString('utf8', start, end)) };
  } catch {
    return { ok: false };
  }
}

/** Printable ASCII only (no control characters, no `"`, no `\`, nothing ≥ 0x7f). */
function plainAscii(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return false;
  }
  return true;
}

/**
 * The raw content `b[start, end)` of a JSON string token, read as a json-numpy object, or null. Accepts
 * only printable ASCII with `\"` as the only escape, and exactly one long run (the base64 payload, which
 * must sit as the value of `__numpy__`).
 */
function jsonNumpyFromToken(b: Buffer, start: number, end: number): JsonNumpyBytes | null {
  let inner = '';
  let payload: Buffer | null = null;
  let i = start;
  while (i <= end) {
    let bs = b.indexOf(BACKSLASH, i);
    if (bs < 0 || bs >= end) bs = end;
    if (bs - i > RUN) {
      if (payload) return null;
      // A latin1 string of the payload and Node's decoder: ≈0.15 ms per 224² image, against ≈0.35 ms
      // for decoding the bytes in JS. The strings (0.4 MB per request) did not change how often the
      // server thread runs a Mark-Compact (measured with --trace-gc), so the faster path stays.
      payload = decodeBase64Strict(b.toString('latin1', i, bs));
      if (!payload) return null;
      inner += '\\u0001'; // SENTINEL, as a JSON escape
    } else {
      if (!plainAscii(b, i, bs)) return null;
      inner += b.toString('latin1', i, bs);
    }
    if (bs === end) break;
    if (bs + 1 >= end || b[bs + 1] !== QUOTE) return null;
    inner += '"';
    i = bs + 2;
  }
  if (!payload) return null;
  let o: unknown;
  try {
    o = JSON.parse(inner);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  if (!Object.hasOwn(r, '__numpy__') || r.__numpy__ !== SENTINEL) return null;
  return new JsonNumpyBytes(payload, r.dtype, r.shape);
}

/**
 * The `/act` body as `JSON.parse(body.toString())` would give it, except that large json-numpy strings
 * under `arrayKeys` come back as `JsonNumpyBytes`; null when the fast path does not apply.
 */
export function parseActBody(body: Buffer, arrayKeys: ReadonlySet<string>): Record<string, unknown> | null {
  let i = skipWs(body, 0);
  if (body[i] !== 0x7b) return null;
  const out: Record<string, unknown> = {};
  i = skipWs(body, i + 1);
  if (body[i] === 0x7d) return skipWs(body, i + 1) === body.length ? out : null;
  for (;;) {
    if (body[i] !== QUOTE) return null;
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) return null;
    const key = json(body, i, keyEnd);
    if (!key.ok || typeof key.value !== 'string') return null;
    i = skipWs(body, keyEnd);
    if (body[i] !== 0x3a) return null;
    i = skipWs(body, i + 1);
    const start = i;
    const end = body[i] === QUOTE ? stringEnd(body, i) : valueEnd(body, i);
    if (end < 0 || end === start) return null;
    let value: unknown;
    const fast =
      body[start] === QUOTE && end - start > LARGE && arrayKeys.has(key.value)
        ? jsonNumpyFromToken(body, start + 1, end - 1)
        : null;
    if (fast) value = fast;
    else {
      const v = json(body, start, end);
      if (!v.ok) return null;
      value = v.value;
    }
    // As JSON.parse: an own, enumerable property even for "__proto__"; a repeated key keeps the last value.
    Object.defineProperty(out, key.value, { value, writable: true, enumerable: true, configurable: true });
    i = skipWs(body, end);
    if (body[i] === 0x2c) {
      i = skipWs(body, i + 1);
      continue;
    }
    if (body[i] !== 0x7d) return null;
    return skipWs(body, i + 1) === body.length ? out : null;
  }
}
