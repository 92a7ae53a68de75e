import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from './base64.js';

const REGEX = /^[A-Za-z0-9+/]*={0,2}$/;
const regexAccepts = (s: string) => s.length % 4 === 0 && REGEX.test(s);

describe('decodeBase64Strict', () => {
  it('accepts exactly what the base64 regex accepts, and decodes like Buffer.from', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const noise = ['=', '-', '_', ' ', '\n', '!', '.', '\u0000', 'é', '€', '\\', '"', 'A'];
    let seed = 12345; // mulberry32
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const cases = ['', 'ABCD', 'AB==', 'ABC=', 'A===', '====', 'AB=C', 'A=B=', '=ABC', 'AB-_', 'QUJD'];
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(Array.from({ length: rand(12) }, () => rand(256)));
      const chars = bytes.toString('base64').split('');
      for (let k = rand(3); k > 0 && chars.length; k--) {
        const c = noise[rand(noise.length)];
        const at = rand(chars.length + 1);
        if (rand(2)) chars.splice(at, 0, c);
        else chars[Math.min(at, chars.length - 1)] = c;
      }
      if (rand(4) === 0) chars.push(alphabet[rand(64)]);
      cases.push(chars.join(''));
    }
    let accepted = 0;
    for (const s of cases) {
      const got = decodeBase64Strict(s);
      expect(got !== null, JSON.stringify(s)).toBe(regexAccepts(s));
      if (got) {
        accepted++;
        expect(got.equals(Buffer.from(s, 'base64'))).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(cases.length - 1000);
  });
});
