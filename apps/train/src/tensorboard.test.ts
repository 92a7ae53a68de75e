import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, EventWriter, readEvents, readRun } from './tensorboard.js';

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

  it('a resumed run marks its restart: earlier events from that step on are dropped, in file order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-run-'));
    const killed = new EventWriter(dir);
    for (let s = 1; s <= 7; s++) killed.scalars(s, { loss: s });
    const resumed = new EventWriter(dir); // same second: its name must still sort after the first
    expect(resumed.path > killed.path).toBe(true);
    resumed.sessionStart(5); // resumed from the checkpoint at step 4
    for (let s = 5; s <= 9; s++) resumed.scalars(s, { loss: 10 * s });
    expect(readEvents(resumed.path).map((e) => e.step)).toEqual([5, 6, 7, 8, 9]);
    expect(readRun(dir).map((e) => [e.step, e.value])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 50],
      [6, 60],
      [7, 70],
      [8, 80],
      [9, 90],
    ]);
  });
});
