import { afterAll, describe, expect, it } from 'vitest';
import { computeDatasetStats } from './dataset-stats.js';
import { createNormalizer } from './normalize.js';
import { openDataset } from './reader.js';
import {
  ACTION_STATS,
  actionOf,
  buildFixtureV3,
  buildFixtureV21,
  camPixels,
  LENGTHS,
  stateOf,
  TASKS,
} from './test-utils/fixture.js';
import { tempDir } from './test-utils/synthetic.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function fixture(build: (root: string) => Promise<void>): Promise<string> {
  const { dir, cleanup } = await tempDir('fixture-');
  cleanups.push(cleanup);
  await build(dir);
  return dir;
}

describe.each([
  ['v3.0', buildFixtureV3],
  ['v2.1', buildFixtureV21],
] as const)('hand-assembled %s fixture (parquet by arrow-rs)', (version, build) => {
  it('reads info, tasks, episodes, values and both image encodings', async () => {
    const ds = await openDataset(await fixture(build));
    expect(ds.info.codebase_version).toBe(version);
    expect(ds.info.robot_type).toBe('fixture_arm');
    expect(ds.tasks).toEqual(TASKS);
    expect(ds.numFrames).toBe(5);
    expect(ds.episodes.map((e) => [e.episodeIndex, e.length, e.from, e.to, e.tasks[0]])).toEqual([
      [0, 3, 0, 3, TASKS[0]],
      [1, 2, 3, 5, TASKS[1]],
    ]);
    expect(ds.cameraKeys).toEqual(['observation.images.cam', 'observation.images.jpg']);
    for (let g = 0; g < 5; g++) {
      const fr = await ds.getFrame(g);
      expect(Array.from(fr['observation.state'] as Float32Array)).toEqual(stateOf(g));
      expect(Array.from(fr.action as Float32Array)).toEqual(actionOf(g));
      expect(fr.episode_index).toBe(g < LENGTHS[0] ? 0 : 1);
      expect(fr.frame_index).toBe(g < LENGTHS[0] ? g : g - LENGTHS[0]);
      expect(fr.task).toBe(TASKS[g < LENGTHS[0] ? 0 : 1]);
      const png = fr['observation.images.cam'] as { data: Uint8Array; height: number; width: number };
      expect([png.height, png.width]).toEqual([4, 4]);
      expect(Array.from(png.data)).toEqual(Array.from(camPixels(g, 4)));
      const jpg = fr['observation.images.jpg'] as { data: Uint8Array; height: number; width: number };
      const want = camPixels(g, 8);
      let err = 0;
      for (let i = 0; i < want.length; i++) err += Math.abs(jpg.data[i] - want[i]);
      expect(err / want.length).toBeLessThan(8); // JPEG quality 95 is lossy but close
    }
  });

  it('loads stats (v2.1: aggregated from episodes_stats.jsonl) and normalizes with them', async () => {
    const ds = await openDataset(await fixture(build));
    const s = ds.stats.action;
    expect(s.count).toBe(5);
    for (let j = 0; j < 3; j++) {
      expect(s.mean[j]).toBeCloseTo(ACTION_STATS.mean[j], 9);
      expect(s.std[j]).toBeCloseTo(ACTION_STATS.std[j], 9);
      expect(s.min[j]).toBe(ACTION_STATS.min[j]);
      expect(s.max[j]).toBe(ACTION_STATS.max[j]);
    }
    const n = createNormalizer(ds.stats, 'action', 'mean_std', 3);
    expect(n.normalize([2, 1, 1])[0]).toBeCloseTo(1 / Math.sqrt(0.5), 5);
    if (version === 'v3.0') {
      expect(ds.stats['observation.images.cam'].mean).toEqual([0.5, 0.5, 0.5]);
      const q = createNormalizer(ds.stats, 'action', 'quantile', 3);
      const lo = q.normalize([0.02, 1, -1]);
      const hi = q.normalize([1.98, 1, 1]);
      expect([lo[0], lo[2], hi[0], hi[2]].map((v) => Math.round(v * 1e5) / 1e5)).toEqual([-1, -1, 1, 1]);
      expect(q.normalize([1, 1, 0])[0]).toBeCloseTo(0, 6); // midpoint of q01/q99 → 0
    } else {
      expect(s.q01).toBeUndefined();
      expect(() => createNormalizer(ds.stats, 'action', 'quantile', 3)).toThrow(/q01\/q99.*mean_std/);
      // recomputed from the data: same mean/std as the hand-written per-episode stats, plus quantiles
      const re = computeDatasetStats(ds, ['action']).action;
      expect(re.mean[0]).toBeCloseTo(1, 9);
      expect(re.std[2]).toBeCloseTo(Math.sqrt(0.96), 9);
      // envelope of per-episode q01 of g/2: episode 0 {0, .5, 1} → 0.01; episode 1 {1.5, 2} → 1.505
      expect(re.q01?.[0]).toBeCloseTo(0.01, 9);
    }
  });
});
