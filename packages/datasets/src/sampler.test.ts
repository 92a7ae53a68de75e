import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader } from './loader.js';
import { type LeRobotDataset, openDataset } from './reader.js';
import { type SampleBatch, Sampler } from './sampler.js';
import type { SamplerConfig } from './sampler-config.js';
import { syntheticImage, tempDir, writeSynthetic } from './test-utils/synthetic.js';

let dir: string;
let cleanup: () => Promise<void>;
let ds: LeRobotDataset;
// Episode lengths 5 and 3; action[j] = ep*100 + f + j/10 (j < 3); action[3] = f ≥ len/2 ? +1 : −1;
// state = action − 0.5 on j < 3, state[3] = f > len/2 ? +1 : −1.
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeSynthetic(dir, { episodes: [5, 3, 4, 6], size: 8 });
  ds = await openDataset(dir);
});
afterAll(async () => cleanup());

const base: SamplerConfig = {
  history: 2,
  horizon: 3,
  cameras: { 'observation.images.front': 'front', 'observation.images.wrist': 'wrist' },
  gripper: { stateIndex: 3, actionIndex: 3, convention: 'closed-positive' },
  normalization: { default: 'identity' },
  split: { valEpisodes: [1] },
  seed: 7,
  batchSize: 4,
};

const at = (b: SampleBatch, arr: Float32Array | Uint8Array, ...idx: number[]) => {
  const shape = [b.batchSize, b.history, b.horizon, b.actions.shape[3]].slice(0, idx.length);
  let o = 0;
  for (let i = 0; i < idx.length; i++) o = o * shape[i] + idx[i];
  return arr[o];
};

describe('Sampler.batch (hand-computed)', () => {
  it('left-aligned history, action chunks with end padding, gripper {0,1}, images per slot', async () => {
    const s = new Sampler(ds, base);
    const b = await s.batch([0, 4]);
    expect(b.state.shape).toEqual([2, 2, 3]);
    expect(b.actions.shape).toEqual([2, 2, 3, 4]);
    expect(b.images.front.shape).toEqual([2, 2, 8, 8, 3]);
    // sample 0 = frame 0 of episode 0: one real slot, then padding
    expect(Array.from(b.historyMask)).toEqual([1, 0, 1, 1]);
    expect(Array.from(b.actionMask.subarray(0, 6))).toEqual([1, 1, 1, 0, 0, 0]);
    // slot 0 of sample 0: actions of frames 0,1,2: arm [f, f+.1, f+.2], gripper −1 → 0 (len 5: closes at f ≥ 2.5)
    for (let h = 0; h < 3; h++) {
      expect(at(b, b.actions.data, 0, 0, h, 0)).toBeCloseTo(h, 5);
      expect(at(b, b.actions.data, 0, 0, h, 2)).toBeCloseTo(h + 0.2, 5);
      expect(at(b, b.actions.data, 0, 0, h, 3)).toBe(0);
    }
    // sample 1 = frame 4: slot 0 = frame 3, slot 1 = frame 4 (current)
    expect(Array.from(b.actionMask.subarray(6, 12))).toEqual([1, 1, 0, 1, 0, 0]);
    expect(at(b, b.actions.data, 1, 0, 0, 0)).toBeCloseTo(3, 5);
    expect(at(b, b.actions.data, 1, 0, 1, 0)).toBeCloseTo(4, 5);
    expect(at(b, b.actions.data, 1, 0, 2, 0)).toBeCloseTo(4, 5); // padded with the last real action
    expect(at(b, b.actions.data, 1, 1, 0, 3)).toBe(1);
    // state of sample 1 slot 1 (frame 4): [3.5, 3.6, 3.7], gripper state +1 → closed
    expect(Array.from(b.state.data.subarray(9, 12)).map((v) => Math.round(v * 10) / 10)).toEqual([
      3.5, 3.6, 3.7,
    ]);
    expect(Array.from(b.gripperState)).toEqual([0, 0, 1, 1]); // frame 0: −1; frame 3: 3 > 2.5 → +1
    // padded slot is all zero
    expect(b.state.data.subarray(3, 6).every((v) => v === 0)).toBe(true);
    const per = 8 * 8 * 3;
    expect(b.images.wrist.data.subarray(per, 2 * per).every((v) => v === 0)).toBe(true);
    expect(Buffer.from(b.images.wrist.data.subarray(2 * per, 3 * per))).toEqual(
      Buffer.from(syntheticImage(8, 8, 0, 3, 1)),
    );
    expect(Array.from(b.frameIndex)).toEqual([0, 4]);
    expect(b.tasks).toEqual(['pick the cube', 'pick the cube']);
  });

  it('normalizes with mean/std from stats and resizes images', async () => {
    const s = new Sampler(ds, { ...base, normalization: { default: 'mean_std' }, imageSize: [4, 6] });
    const b = await s.batch([6]);
    const st = ds.stats.action;
    // frame 6 = episode 1 frame 1: action[0] = 101
    expect(b.actions.data[0]).toBeCloseTo((100 - st.mean[0]) / st.std[0], 4); // slot 0 = frame 5 (ep1 f0)
    expect(b.images.front.shape).toEqual([1, 2, 4, 6, 3]);
  });

  it('uses the previous gripper command when the state has no gripper channel', async () => {
    const s = new Sampler(ds, {
      ...base,
      history: 1,
      gripper: { actionIndex: 3, convention: 'closed-positive' },
    });
    const b = await s.batch([0, 3, 4]); // ep0: the gripper command is +1 from f=3 (≥ 2.5)
    expect(b.state.shape).toEqual([3, 1, 4]);
    expect(Array.from(b.gripperState)).toEqual([0, 0, 1]); // f0: own (−1); f3: f2's (−1); f4: f3's (+1)
  });
});

describe('Sampler futureOffset (video targets)', () => {
  it("yields each real slot's frame k steps later, clamped to the episode's last frame", async () => {
    const s = new Sampler(ds, { ...base, futureOffset: 2 });
    const b = await s.batch([0, 4]); // episode 0 has frames 0..4
    const per = 8 * 8 * 3;
    const fut = b.futureImages?.front;
    expect(fut?.shape).toEqual([2, 2, 8, 8, 3]);
    const slot = (i: number) =>
      Buffer.from((fut as { data: Uint8Array }).data.subarray(i * per, (i + 1) * per));
    expect(slot(0)).toEqual(Buffer.from(syntheticImage(8, 8, 0, 2, 0))); // frame 0 → 2
    expect(slot(1).every((v) => v === 0)).toBe(true); // padded slot
    expect(slot(2)).toEqual(Buffer.from(syntheticImage(8, 8, 0, 4, 0))); // frame 3 → 5, clamped to 4
    expect(slot(3)).toEqual(Buffer.from(syntheticImage(8, 8, 0, 4, 0))); // frame 4 → 4
    expect(b.futureImages?.wrist.data.subarray(0, per)).toEqual(syntheticImage(8, 8, 0, 2, 1));
    expect((await new Sampler(ds, base).batch([0])).futureImages).toBeUndefined();
    expect(() => new Sampler(ds, { ...base, futureOffset: 0 })).toThrow(/futureOffset/);
  });
});

describe('split and epochs', () => {
  it('splits by episode, deterministically by seed', () => {
    const cfg = { ...base, split: { valFraction: 0.5 } };
    const a = new Sampler(ds, cfg).splitEpisodes;
    const b = new Sampler(ds, cfg).splitEpisodes;
    expect(a).toEqual(b);
    expect(a.val).toHaveLength(2);
    expect([...a.train, ...a.val].sort()).toEqual([0, 1, 2, 3]);
  });

  it('covers every training frame once per epoch; order depends on epoch and seed', () => {
    const s = new Sampler(ds, base);
    const e0 = s.epochBatches('train', 0).flatMap((x) => Array.from(x));
    const e1 = s.epochBatches('train', 1).flatMap((x) => Array.from(x));
    const trainFrames = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    expect([...e0].sort((x, y) => x - y)).toEqual(trainFrames);
    expect([...e1].sort((x, y) => x - y)).toEqual(trainFrames);
    expect(e0).not.toEqual(e1);
    expect(new Sampler(ds, base).epochBatches('train', 0).flatMap((x) => Array.from(x))).toEqual(e0);
    expect(s.epochBatches('val', 0).flatMap((x) => Array.from(x))).toEqual([5, 6, 7]);
    expect(new Sampler(ds, { ...base, dropLast: true }).epochBatches('train', 0)).toHaveLength(3);
  });

  it('oversampleStart repeats each training episode’s first frames, never validation frames', () => {
    // Train episodes 0 (frames 0..4), 2 (8..11), 3 (12..17); the first 2 frames of each appear 3 times.
    const s = new Sampler(ds, { ...base, oversampleStart: { frames: 2, factor: 3 } });
    const e0 = s.epochBatches('train', 0).flatMap((x) => Array.from(x));
    const count = (f: number) => e0.filter((x) => x === f).length;
    expect(e0).toHaveLength(15 + 3 * 2 * 2);
    for (const f of [0, 1, 8, 9, 12, 13]) expect(count(f)).toBe(3);
    for (const f of [2, 3, 4, 10, 11, 14, 15, 16, 17]) expect(count(f)).toBe(1);
    expect(s.epochBatches('val', 0).flatMap((x) => Array.from(x))).toEqual([5, 6, 7]);
    // More first frames than an episode has: the whole short episode repeats, nothing past its end.
    // Train episode lengths 5, 4, 6: 15 frames + 5 + 4 + 5 repeats; episode 2 (8..11) all twice, 17 once.
    const all = Array.from(
      new Sampler(ds, { ...base, oversampleStart: { frames: 5, factor: 2 } }).frames('train'),
    );
    expect(all).toHaveLength(15 + 5 + 4 + 5);
    for (const f of [8, 9, 10, 11]) expect(all.filter((x) => x === f)).toHaveLength(2);
    expect(all.filter((x) => x === 17)).toHaveLength(1);
    expect(() => new Sampler(ds, { ...base, oversampleStart: { frames: 2, factor: 0 } })).toThrow(
      /oversampleStart\.factor/,
    );
  });

  it('oversampleSwitches repeats the frames around each gripper switch; rules combine by their largest factor', () => {
    // The gripper command closes at frame ⌈len/2⌉: episode 0 (len 5) at 3 → global 3; episode 2 (len 4,
    // from 8) at 2 → 10; episode 3 (len 6, from 12) at 3 → 15. One frame before and none after, twice.
    const sw = { before: 1, after: 0, factor: 2 };
    const f = Array.from(new Sampler(ds, { ...base, oversampleSwitches: sw }).frames('train'));
    const count = (xs: number[], g: number) => xs.filter((x) => x === g).length;
    expect(f).toHaveLength(15 + 6);
    for (const g of [2, 3, 9, 10, 14, 15]) expect(count(f, g)).toBe(2);
    for (const g of [0, 1, 4, 8, 11, 12, 13, 16, 17]) expect(count(f, g)).toBe(1);
    // With the first 3 frames 3×: frame 2 is in both rules and appears 3 times, not 4.
    const both = Array.from(
      new Sampler(ds, { ...base, oversampleSwitches: sw, oversampleStart: { frames: 3, factor: 3 } }).frames(
        'train',
      ),
    );
    expect(count(both, 2)).toBe(3);
    expect(count(both, 3)).toBe(2);
    expect(count(both, 10)).toBe(3); // episode 2's frame 2: start and switch
    expect(new Sampler(ds, { ...base, oversampleSwitches: sw }).frames('val')).toHaveLength(3);
    expect(
      () => new Sampler(ds, { ...base, oversampleSwitches: { before: -1, after: 0, factor: 2 } }),
    ).toThrow(/oversampleSwitches\.before: is -1/);
  });
  it('balanceTasks repeats a task with fewer training frames, on top of the other rules, never in validation', () => {
    // Train episodes 0 (5 frames) and 2 (4) are task 0: 9 frames; episode 3 (6 frames, 12..17) is task 1.
    // Task 1's factor is round(9 / 6) = 2, task 0's 1.
    const f = Array.from(new Sampler(ds, { ...base, balanceTasks: true }).frames('train'));
    const count = (xs: number[], g: number) => xs.filter((x) => x === g).length;
    expect(f).toHaveLength(9 + 2 * 6);
    for (const g of [12, 13, 14, 15, 16, 17]) expect(count(f, g)).toBe(2);
    for (const g of [0, 4, 8, 11]) expect(count(f, g)).toBe(1);
    // With the first 2 frames 3×, task 0 counts 9 + 8 = 17 and task 1 6 + 4 = 10: factor round(1.7) = 2,
    // applied to the repeated counts (frames 12, 13: 3 × 2).
    const both = Array.from(
      new Sampler(ds, { ...base, balanceTasks: true, oversampleStart: { frames: 2, factor: 3 } }).frames(
        'train',
      ),
    );
    expect(both).toHaveLength(17 + 20);
    expect(count(both, 12)).toBe(6);
    expect(count(both, 14)).toBe(2);
    expect(count(both, 0)).toBe(3);
    expect(new Sampler(ds, { ...base, balanceTasks: true }).frames('val')).toHaveLength(3);
    expect(Array.from(new Sampler(ds, { ...base, balanceTasks: false }).frames('train'))).toHaveLength(15);
    expect(() => new Sampler(ds, { ...base, balanceTasks: 'yes' as unknown as boolean })).toThrow(
      /balanceTasks: is "yes"/,
    );
  });
});

describe('DataLoader (worker threads)', () => {
  it('yields the same batches in the same order as the in-thread sampler', async () => {
    const loader = await DataLoader.create(dir, base, { workers: 2, prefetch: 3 });
    try {
      const s = new Sampler(ds, base);
      const want: SampleBatch[] = [];
      for await (const b of s.epoch('train', 3)) want.push(b);
      const got: SampleBatch[] = [];
      for await (const b of loader.epoch('train', 3)) got.push(b);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        expect(Array.from(got[i].frameIndex)).toEqual(Array.from(want[i].frameIndex));
        expect(Buffer.from(got[i].images.front.data).equals(Buffer.from(want[i].images.front.data))).toBe(
          true,
        );
        expect(Array.from(got[i].actions.data)).toEqual(Array.from(want[i].actions.data));
        expect(Array.from(got[i].state.data)).toEqual(Array.from(want[i].state.data));
        expect(Array.from(got[i].actionMask)).toEqual(Array.from(want[i].actionMask));
        expect(got[i].tasks).toEqual(want[i].tasks);
      }
    } finally {
      await loader.close();
    }
  });

  it('reports a worker-side error on the awaiting call', async () => {
    await expect(DataLoader.create(dir, { ...base, history: 0 }, { workers: 1 })).rejects.toThrow(/history/);
  });
});
