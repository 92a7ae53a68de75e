/**
 * One linear pass over a safetensors header's JSON text, before and after JSON.parse: nesting depth (checked
 * before parsing, so a hostile header cannot make the parser or anything after it recurse deeply) and
 * repeated keys (JSON.parse silently keeps the last one). Safe on invalid JSON: it always terminates in one
 * pass, and JSON.parse reports what is wrong.
 */

export interface DuplicateKey {
  key: string;
  /** Keys leading to the object holding the duplicate ([] for the top level). */
  path: string[];
}

export interface JsonScan {
  /** The text opens more than `maxDepth` nested objects/arrays (the scan stops there). */
  tooDeep: boolean;
  /** First repeated key in any object, or null. */
  duplicate: DuplicateKey | null;
}

interface Frame {
  keys: Set<string> | null; // null for arrays
  parent: Frame | undefined;
  /** Key (or '[]' for an array element) under which this container sits in its parent. */
  keyInParent: string;
  lastKey: string | undefined;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Keys leading to `frame`, built once (frames keep only a parent link, so opening one costs O(1)). */
function pathOf(frame: Frame): string[] {
  const path: string[] = [];
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) path.push(f.keyInParent);
  return path.reverse();
}

function parseKey(literal: string): string | undefined {
  try {
    const key: unknown = JSON.parse(literal);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined; // invalid JSON: JSON.parse of the whole text reports it
  }
}

/** Scans `text` in O(length): depth beyond `maxDepth` and the first duplicate key. */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let top: Frame | undefined;
  let depth = 0;
  let duplicate: DuplicateKey | null = null;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) break; // unterminated string: invalid JSON
      const start = i;
      i = j + 1;
      if (duplicate !== null || !top?.keys) continue;
      let k = i;
      while (k < text.length && WHITESPACE.has(text[k] ?? '')) k += 1;
      if (text[k] !== ':') continue;
      const key = parseKey(text.slice(start, j + 1));
      if (key === undefined) continue;
      if (top.keys.has(key)) duplicate = { key, path: pathOf(top) };
      top.keys.add(key);
      top.lastKey = key;
      continue;
    }
    if (c === '{' || c === '[') {
      depth += 1;
      if (depth > maxDepth) return { tooDeep: true, duplicate: null };
      const keyInParent = top === undefined ? '' : top.keys ? (top.lastKey ?? '') : '[]';
      top = { keys: c === '{' ? new Set() : null, parent: top, keyInParent, lastKey: undefined };
    } else if (c === '}' || c === ']') {
      top = top?.parent;
      depth = Math.max(0, depth - 1);
    }
    i += 1;
  }
  return { tooDeep: false, duplicate };
}
