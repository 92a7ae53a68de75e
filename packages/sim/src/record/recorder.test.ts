import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '@anchor-refine/datasets';
import { describe, expect, it } from 'vitest';
import { STATE_NAMES } from '../scene/arm.js';
import { recordExpertDataset } from './recorder.js';

describe('recordExpertDataset', () => {
  it('writes expert episodes as a LeRobot v3.0 dataset that reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-rec-'));
    const root = join(dir, 'ds');
    try {
      const summary = await recordExpertDataset({
        root,
        tasks: ['pick_cube', 'open_drawer'],
        episodesPerTask: 1,
        env: { imageWidth: 32, imageHeight: 32 },
      });
      expect(summary.episodes).toBe(2);
      expect(summary.discarded).toBe(0);
      const ds = await openDataset(root);
      expect(ds.fps).toBe(10);
      expect(ds.numFrames).toBe(summary.frames);
      expect(ds.tasks).toEqual(
        expect.arrayContaining(['pick up the cube and place it into the box', 'open the drawer']),
      );
      expect(ds.features['observation.images.front']).toMatchObject({ dtype: 'image', shape: [32, 32, 3] });
      expect(ds.features['observation.state'].names).toEqual([...STATE_NAMES]);
      expect(ds.features.action.shape).toEqual([6]);
      expect(ds.features['observation.ee_pose'].shape).toEqual([7]);
      // The gripper channel of the recorded expert actions is exactly 0 or 1, and both occur.
      const grips = new Set<number>();
      for (let i = 0; i < ds.numFrames; i++) grips.add((ds.value('action', i) as Float32Array)[5]);
      expect([...grips].sort()).toEqual([0, 1]);
      const img = await ds.image('observation.images.wrist', 3);
      expect([img.height, img.width]).toEqual([32, 32]);
      expect(ds.stats.action).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
