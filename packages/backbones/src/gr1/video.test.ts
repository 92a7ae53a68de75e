import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  boxDownsample,
  VIDEO_TARGET_VAR_EPS,
  VideoPredictor,
  validateVideoConfig,
  videoLoss,
  videoTargets,
} from './video.js';

const cfg = { queries: 3, offset: 3, weight: 0.1, dim: 16, depth: 1, heads: 2 };
const layout = { cameras: 2, trunkDim: 8, imageSize: 8, patchSize: 4 };

describe('videoTargets (norm-pix target)', () => {
  it('one 2×2 patch of six 0s and six 1s: ±0.5 / √(unbiased var + eps)', () => {
    // pixels (y, x): (0,0) black, (0,1) white, (1,0) black, (1,1) white → per patch (py, px, C) order
    const img = tf.tensor4d([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1], [1, 2, 2, 3]);
    const y = videoTargets(img, 2);
    expect(y.shape).toEqual([1, 1, 12]);
    const v = 0.5 / Math.sqrt((12 * 0.25) / 11 + VIDEO_TARGET_VAR_EPS);
    const want = [-v, -v, -v, v, v, v, -v, -v, -v, v, v, v];
    Array.from(y.dataSync()).forEach((x, i) => {
      expect(x).toBeCloseTo(want[i], 5);
    });
    tf.dispose([img, y]);
  });

  it('patches row-major, channel-last inside a patch; a flat patch stays 0', () => {
    const s = 4;
    const p = 2;
    const vals = new Float32Array(s * s * 3).map((_, i) => ((i * 37) % 101) / 100);
    for (let y = 2; y < 4; y++)
      for (let x = 0; x < 2; x++) for (let c = 0; c < 3; c++) vals[(y * s + x) * 3 + c] = 0.4; // patch 2 flat
    const img = tf.tensor4d(vals, [1, s, s, 3]);
    const outT = videoTargets(img, p);
    const out = outT.arraySync() as number[][][];
    outT.dispose();
    for (let gy = 0; gy < 2; gy++) {
      for (let gx = 0; gx < 2; gx++) {
        const raw: number[] = [];
        for (let py = 0; py < p; py++)
          for (let px = 0; px < p; px++)
            for (let c = 0; c < 3; c++) raw.push(vals[((gy * p + py) * s + gx * p + px) * 3 + c]);
        const m = raw.reduce((a, b) => a + b, 0) / raw.length;
        const varU = raw.reduce((a, b) => a + (b - m) ** 2, 0) / (raw.length - 1);
        const want = raw.map((r) => (r - m) / Math.sqrt(varU + VIDEO_TARGET_VAR_EPS));
        out[0][gy * 2 + gx].forEach((x, i) => {
          expect(x).toBeCloseTo(want[i], 5);
        });
      }
    }
    expect(out[0][2].every((x) => Math.abs(x) < 1e-6)).toBe(true);
    tf.tidy(() => {
      expect(() => videoTargets(tf.zeros([1, 5, 5, 3]), 2)).toThrow(/multiple of 2/);
    });
    img.dispose();
  });
});

describe('boxDownsample and targetSize', () => {
  it('averages 2×2 blocks (hand-computed); a half-size predictor predicts a quarter of the pixels', () => {
    // 4×4 single-value-per-pixel image (all channels equal): block means 2.5, 4.5, 10.5, 12.5
    const v = Array.from({ length: 16 }, (_, i) => i);
    const img = tf.tensor4d(
      v.flatMap((x) => [x, x, x]),
      [1, 4, 4, 3],
    );
    const d = boxDownsample(img, 2);
    expect(d.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(d.dataSync()).filter((_, i) => i % 3 === 0)).toEqual([2.5, 4.5, 10.5, 12.5]);
    tf.dispose([img, d]);
    const m = new VideoPredictor({ ...cfg, targetSize: 4 }, layout, new Rng(1)); // 8 px, grid 2 → 2-px patches
    expect(m.pixelsPerPatch).toBe(12);
    const frames = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 2);
    const y = m.targets(frames);
    expect(y.shape).toEqual([3, 4, 12]);
    tf.dispose([frames, y]);
    m.dispose();
    const img8 = { imageSize: 8, patchSize: 4 };
    expect(() => validateVideoConfig({ ...cfg, targetSize: 3 }, 'video', img8)).toThrow(/video\.targetSize/);
    expect(() => validateVideoConfig({ ...cfg, targetSize: 16 }, 'video', img8)).toThrow(/video\.targetSize/);
  });
});

describe('videoLoss', () => {
  it('sums per-camera means and averages over real slots (hand-computed)', () => {
    // B=1, L=2, V=2, P=1, K=2. Slot 0: cam 0 [1, 3] → 5, cam 1 [2, 0] → 2 ⇒ 7. Slot 1: [1, 1] → 1, [0, 0] → 0 ⇒ 1.
    const pred = tf.tensor([1, 3, 2, 0, 1, 1, 0, 0], [1, 2, 2, 1, 2]);
    const target = tf.zerosLike(pred);
    tf.tidy(() => {
      expect(videoLoss(pred, target, tf.tensor2d([1, 0], [1, 2])).dataSync()[0]).toBeCloseTo(7, 6);
      expect(videoLoss(pred, target, tf.tensor2d([1, 1], [1, 2])).dataSync()[0]).toBeCloseTo(4, 6);
      expect(() => videoLoss(pred, tf.zeros([1, 2, 2, 1, 3]), tf.ones([1, 2]))).toThrow(/same/);
      expect(() => videoLoss(pred, target, tf.ones([2, 2]))).toThrow(/slotMask/);
    });
    tf.dispose([pred, target]);
  });
});

describe('VideoPredictor', () => {
  it('read-outs [B, L, V·Q, d] → [B, L, V, P, p²·3]; fixed positions are not saved; every parameter gets a gradient', () => {
    const before = tf.memory().numTensors;
    const m = new VideoPredictor(cfg, layout, new Rng(4));
    expect(m.patches).toBe(4);
    expect(m.pixelsPerPatch).toBe(48);
    const keys = [...m.stateDict().keys()]; // the variables themselves
    expect(keys).toContain('queries');
    expect(keys).toContain('mask_token');
    expect(keys.some((k) => k.startsWith('decoder_pos'))).toBe(false);
    expect(m.queries.shape).toEqual([6, 8]);
    tf.tidy(() => {
      const feats = tf.randomNormal([2, 1, 6, 8], 0, 1, 'float32', 9);
      const target = tf.randomNormal([2, 1, 2, 4, 48], 0, 1, 'float32', 10);
      const mask = tf.ones([2, 1]);
      const params = m.parameters().filter((v) => v !== m.queries); // queries feed the trunk, not the decoder
      const { value, grads } = tf.variableGrads(() => videoLoss(m.forward(feats), target, mask), params);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      const missing = m
        .namedParameters()
        .filter(([, v]) => params.includes(v) && !grads[v.name])
        .map(([n]) => n);
      expect(missing).toEqual([]);
      for (const v of params) expect(tf.max(tf.abs(grads[v.name])).dataSync()[0]).toBeGreaterThan(0);
      tf.tidy(() => {
        expect(() => m.forward(tf.zeros([2, 1, 5, 8]))).toThrow(/\[B, L, 6, 8\]/);
      });
    });
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates its config, naming the field', () => {
    expect(() => validateVideoConfig({ ...cfg, queries: 0 })).toThrow(/video\.queries/);
    expect(() => validateVideoConfig({ ...cfg, weight: -1 })).toThrow(/video\.weight/);
    expect(() => validateVideoConfig({ ...cfg, dim: 18, heads: 4 })).toThrow(/video\.dim/);
    expect(() => validateVideoConfig({ ...cfg, offset: 1.5 })).toThrow(/video\.offset/);
  });
});
