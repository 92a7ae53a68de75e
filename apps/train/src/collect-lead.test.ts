/** `collect --lead`: recovery demos led by a trained checkpoint's anchor-only mode. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '@anchor-refine/datasets';
import { describe, expect, it } from 'vitest';
import { collect } from './collect.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

describe('collect --lead', () => {
  it('records the expert part of episodes a trained policy started, and names a missing checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'collect-lead-'));
    const cfg = tinyConfig(await tinyDataset(1), out, {
      anchor: { steps: 2, batchSize: 8 },
      validateEvery: 0,
    });
    const { finalDir } = await trainPhase(cfg, 'anchor', { progress: false, log: () => {} });
    const plain = join(out, 'plain');
    const led = join(out, 'led');
    await collect({ root: plain, tasks: ['open_drawer'], episodesPerTask: 2, imageSize: 32 });
    const s = await collect({
      root: led,
      tasks: ['open_drawer'],
      episodesPerTask: 2,
      imageSize: 32,
      lead: { checkpoint: finalDir, steps: 4 },
    });
    expect(s.episodes).toBe(2);
    const [p, l] = [await openDataset(plain), await openDataset(led)];
    // The policy moved the arm before the expert's part began (its steps are not recorded).
    const first = (ds: typeof p) => Array.from(ds.value('observation.state', 0) as Float32Array);
    expect(first(l)).not.toEqual(first(p));
    expect(l.numFrames).toBeLessThan(p.numFrames + 2 * 4);
    await expect(
      collect({
        root: join(out, 'bad'),
        tasks: ['open_drawer'],
        episodesPerTask: 1,
        imageSize: 32,
        lead: { checkpoint: join(out, 'no-such-ckpt'), steps: 4 },
      }),
    ).rejects.toThrow(/no-such-ckpt.*not a policy checkpoint/);
  });
});
