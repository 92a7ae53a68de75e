/** `refineDataset`: phase 2 reads it instead of `dataset`; phase 1 never does. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '@anchor-refine/policy';
import { describe, expect, it } from 'vitest';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

const quiet = { progress: false, log: () => {} };

describe('train config refineDataset', () => {
  it('phase 1 ignores it, phase 2 trains on it and keeps phase 1 normalization', async () => {
    const [a, b] = [await tinyDataset(2), await tinyDataset(3)];
    const out = mkdtempSync(join(tmpdir(), 'refine-data-'));
    const missing = join(out, 'no-such-dataset');
    const cfg = tinyConfig(a, out, {
      anchor: { steps: 2, batchSize: 8 },
      validateEvery: 0,
      refineDataset: missing,
    });
    await trainPhase(cfg, 'anchor', quiet); // phase 1 reads `dataset` only
    await expect(trainPhase(cfg, 'refine', quiet)).rejects.toThrow(/no-such-dataset/);
    const r = await trainPhase(
      { ...cfg, refineDataset: b, refine: { ...cfg.refine, steps: 2 } },
      'refine',
      quiet,
    );
    expect(r.steps).toBe(2);
    const [p1, p2] = [await loadPolicy(join(out, 'anchor', 'final')), await loadPolicy(r.finalDir)];
    expect(p2.normalizationStats).toEqual(p1.normalizationStats);
    p1.dispose();
    p2.dispose();
  });
});
