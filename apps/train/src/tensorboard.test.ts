import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, EventWriter, readEvents } from './tensorboard.js';

describe('TensorBoard event files', () => {
  it('CRC-32C matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('round-trips scalars through TFRecord framing and detects corruption', () => {
    const w = new EventWriter(mkdtempSync(join(tmpdir(), 'tb-')));
    w.scalars(1, { 'anchor/train/loss': 0.5, 'anchor/train/lr': 1e-3 });
    w.scalars(300, { 'anchor/train/loss': 0.25 });
    const ev = readEvents(w.path);
    expect(ev).toEqual([
      { step: 1, tag: 'anchor/train/loss', value: 0.5 },
      { step: 1, tag: 'anchor/train/lr', value: Math.fround(1e-3) },
      { step: 300, tag: 'anchor/train/loss', value: 0.25 },
    ]);
    const bytes = readFileSync(w.path);
    bytes[bytes.length - 6] ^= 0xff;
    writeFileSync(w.path, bytes);
    expect(() => readEvents(w.path)).toThrow(/bad payload CRC/);
  });
});
