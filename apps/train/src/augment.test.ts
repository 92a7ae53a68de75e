import type { SampleBatch } from '@anchor-refine/datasets';
import { describe, expect, it } from 'vitest';
import { augmentBatch, dropState, shiftImage } from './augment.js';

/** A 3×3 RGB image whose pixel (y, x) has channels (10y + x, 100 + 10y + x, 200 + 10y + x). */
const img3 = () => {
  const d = new Uint8Array(27);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 3; x++) for (let c = 0; c < 3; c++) d[(y * 3 + x) * 3 + c] = 100 * c + 10 * y + x;
  return d;
};
const px = (d: Uint8Array, y: number, x: number) => d[(y * 3 + x) * 3];

function batch(B: number, L: number, h: number, fill: (s: number, i: number) => number): SampleBatch {
  const data = new Uint8Array(B * L * h * h * 3);
  for (let s = 0; s < B * L; s++) for (let i = 0; i < h * h * 3; i++) data[s * h * h * 3 + i] = fill(s, i);
  return {
    batchSize: B,
    history: L,
    horizon: 1,
    images: {
      front: { data, shape: [B, L, h, h, 3] },
      wrist: { data: data.slice(), shape: [B, L, h, h, 3] },
    },
    state: { data: new Float32Array(B * L), shape: [B, L, 1] },
    gripperState: new Float32Array(B * L),
    historyMask: new Uint8Array(B * L).fill(1),
    actions: { data: new Float32Array(B * L), shape: [B, L, 1, 1] },
    actionMask: new Uint8Array(B * L).fill(1),
    taskIndex: new Int32Array(B),
    tasks: Array(B).fill('t'),
    episodeIndex: Int32Array.from({ length: B }, (_, b) => b),
    frameIndex: Int32Array.from({ length: B }, (_, b) => 7 * b),
  };
}

describe('shiftImage', () => {
  it('moves content by (dy, dx) and replicates edges (hand-computed 3×3)', () => {
    const src = img3();
    const out = new Uint8Array(27);
    shiftImage(src, out, 3, 3, 1, -1); // out[y][x] = in[clamp(y+1)][clamp(x-1)]
    expect([0, 1, 2].map((y) => [0, 1, 2].map((x) => px(out, y, x)))).toEqual([
      [10, 10, 11],
      [20, 20, 21],
      [20, 20, 21],
    ]);
    expect(out[(0 * 3 + 2) * 3 + 2]).toBe(211); // channels travel together
    shiftImage(src, out, 3, 3, 0, 0);
    expect(out).toEqual(src);
    shiftImage(src, out, 3, 3, -5, 5); // beyond the border: all the top-right pixel
    expect(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => out[3 * i]))).toEqual(new Set([2]));
  });
});

describe('augmentBatch', () => {
  const b = batch(4, 2, 8, (s, i) => (s * 31 + i * 7) % 251);
  it('pad 0 returns the batch untouched', () => {
    expect(augmentBatch(b, { pad: 0 }, 1)).toBe(b);
  });
  it('is deterministic in the seed, leaves the input alone, and changes with the seed', () => {
    const before = b.images.front.data.slice();
    const a1 = augmentBatch(b, { pad: 2 }, 5);
    const a2 = augmentBatch(b, { pad: 2 }, 5);
    const a3 = augmentBatch(b, { pad: 2 }, 6);
    expect(a1.images.front.data).toEqual(a2.images.front.data);
    expect(a1.images.front.data).not.toEqual(a3.images.front.data);
    expect(b.images.front.data).toEqual(before);
  });
  it('shifts every history frame of a sample alike, and a sample the same wherever it sits in the batch', () => {
    // Frames of one sample identical → after the shift they must stay identical.
    const same = batch(4, 2, 8, (s, i) => (Math.floor(s / 2) * 13 + i * 5) % 253);
    const a = augmentBatch(same, { pad: 3 }, 9);
    const per = 8 * 8 * 3;
    for (let s = 0; s < 4; s++) {
      const d = a.images.front.data;
      expect(d.subarray(2 * s * per, (2 * s + 1) * per)).toEqual(
        d.subarray((2 * s + 1) * per, (2 * s + 2) * per),
      );
    }
    // The half batch [samples 2, 3] (a data-parallel shard) gets the same pixels as in the full batch.
    const half: SampleBatch = {
      ...same,
      batchSize: 2,
      images: Object.fromEntries(
        Object.entries(same.images).map(([k, v]) => [
          k,
          { data: v.data.slice(4 * per), shape: [2, 2, 8, 8, 3] as [number, number, number, number, number] },
        ]),
      ),
      episodeIndex: same.episodeIndex.slice(2),
      frameIndex: same.frameIndex.slice(2),
    };
    const h = augmentBatch(half, { pad: 3 }, 9);
    expect(h.images.front.data).toEqual(a.images.front.data.slice(4 * per));
    expect(h.images.wrist.data).toEqual(a.images.wrist.data.slice(4 * per));
  });
  it("moves a sample's future frames (the video target) with its observed frames", () => {
    // future = observed: the same shift keeps them equal, camera by camera.
    const withFuture: SampleBatch = {
      ...b,
      futureImages: Object.fromEntries(
        Object.entries(b.images).map(([k, v]) => [k, { data: v.data.slice(), shape: v.shape }]),
      ),
    };
    const a = augmentBatch(withFuture, { pad: 3 }, 11);
    for (const cam of ['front', 'wrist']) {
      expect(a.futureImages?.[cam].data).toEqual(a.images[cam].data);
      expect(a.images[cam].data).not.toEqual(b.images[cam].data);
    }
    expect(augmentBatch(b, { pad: 3 }, 11).futureImages).toBeUndefined();
  });
  it('refuses non-RGB images naming the camera', () => {
    const bad = {
      ...b,
      images: {
        depth: {
          data: new Uint8Array(4 * 2 * 8 * 8),
          shape: [4, 2, 8, 8, 1] as [number, number, number, number, number],
        },
      },
    };
    expect(() => augmentBatch(bad, { pad: 1 }, 0)).toThrow(/depth/);
  });
});

describe('dropState', () => {
  const withState = (B: number, L: number) => {
    const b = batch(B, L, 2, () => 0);
    const data = Float32Array.from({ length: B * L * 2 }, (_, i) => i + 1);
    return { ...b, state: { data, shape: [B, L, 2] as [number, number, number] } };
  };

  it('zeroes whole samples (every history slot) at about the asked rate, nothing else', () => {
    const [B, L] = [400, 2];
    const src = withState(B, L);
    const out = dropState(src, 0.3, 11);
    let dropped = 0;
    for (let b = 0; b < B; b++) {
      const row = Array.from(out.state.data.subarray(b * L * 2, (b + 1) * L * 2));
      const orig = Array.from(src.state.data.subarray(b * L * 2, (b + 1) * L * 2));
      if (row.every((v) => v === 0)) dropped++;
      else expect(row).toEqual(orig); // a kept sample is untouched
    }
    // Binomial(400, 0.3): mean 120, sd 9.2 → 5 sd either side
    expect(dropped).toBeGreaterThan(74);
    expect(dropped).toBeLessThan(166);
    expect(src.state.data[0]).toBe(1); // input not modified
    expect(out.images).toBe(src.images);
  });

  it('is a pure function of (seed, episode, frame); p = 0 is the identity', () => {
    const src = withState(64, 1);
    expect(Array.from(dropState(src, 0.5, 3).state.data)).toEqual(
      Array.from(dropState(src, 0.5, 3).state.data),
    );
    expect(Array.from(dropState(src, 0.5, 3).state.data)).not.toEqual(
      Array.from(dropState(src, 0.5, 4).state.data),
    );
    expect(dropState(src, 0, 3)).toBe(src);
  });
});
