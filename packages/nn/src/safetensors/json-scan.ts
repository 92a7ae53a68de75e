/** Duplicate-key detection for JSON text (JSON.parse silently keeps the last of repeated keys). */

export interface DuplicateKey {
  key: string;
  /** Keys leading to the object holding the duplicate ([] for the top level). */
  path: string[];
}

interface Frame {
  keys: Set<string> | null; // null for arrays
  path: string[];
  lastKey: string | undefined;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** First repeated key in any object of `text`, which must already be valid JSON (JSON.parse succeeded). */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const literal = text.slice(i, j + 1);
      i = j + 1;
      let k = i;
      while (k < text.length && WHITESPACE.has(text[k])) k += 1;
      const top = stack.at(-1);
      if (text[k] === ':' && top?.keys) {
        const key = JSON.parse(literal) as string;
        if (top.keys.has(key)) return { key, path: top.path };
        top.keys.add(key);
        top.lastKey = key;
      }
      continue;
    }
    if (c === '{' || c === '[') {
      const parent = stack.at(-1);
      const path = parent === undefined ? [] : [...parent.path, parent.keys ? (parent.lastKey ?? '') : '[]'];
      stack.push({ keys: c === '{' ? new Set() : null, path, lastKey: undefined });
    } else if (c === '}' || c === ']') {
      stack.pop();
    }
    i += 1;
  }
  return null;
}
