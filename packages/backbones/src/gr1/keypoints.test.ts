import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gr1Config } from './config.js';
import { patchGrid, SpatialSoftmax } from './keypoints.js';
import { Gr1Backbone } from './model.js';
import { sincos2d, VisionTransformer } from './vit.js';

const close = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  for (const [i, w] of want.entries()) {
    expect(Math.abs(got[i] - w), `index ${i}: ${got[i]} vs ${w}`).toBeLessThan(tol);
  }
};

describe('patchGrid', () => {
  it('gives row-major patch centres as (x, y) in (−1, 1)', () => {
    close(patchGrid(2), [-0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5]);
    const g3 = patchGrid(3);
    close([g3[2 * 5], g3[2 * 5 + 1]], [2 / 3, 0]); // row 1, col 2
  });
});

describe('SpatialSoftmax', () => {
  it('returns the softmax-weighted patch centre (hand-computed case)', () => {
    const before = tf.memory().numTensors;
    const ss = new SpatialSoftmax(2, 1, 2, new Rng(0));
    tf.tidy(() => {
      ss.to_logits.weight.assign(tf.tensor2d([[1, 0]])); // score = feature 0
      ss.to_logits.bias?.assign(tf.zeros([1]));
    });
    // patch 1 (top right) scores ln 3, the others 0 → weights 1/2 there, 1/6 elsewhere:
    // x = ½·½ + ⅙·(−½ − ½ + ½) = 1/6,  y = ½·(−½) + ⅙·(−½ + ½ + ½) = −1/6
    const patches = tf.tensor3d([
      [
        [0, 5],
        [Math.log(3), -2],
        [0, 7],
        [0, 1],
      ],
    ]); // [1, 4, 2]
    const kp = ss.forward(patches);
    expect(kp.shape).toEqual([1, 2]);
    close(kp.dataSync(), [1 / 6, -1 / 6]);
    tf.dispose([patches, kp]);
    ss.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('follows a moved feature and passes gradients to its scores', () => {
    const ss = new SpatialSoftmax(3, 2, 3, new Rng(1));
    tf.tidy(() => {
      const at = (p: number) =>
        tf.tensor3d([Array.from({ length: 9 }, (_, i) => (i === p ? [8, 8, 8] : [0, 0, 0]))]);
      ss.to_logits.weight.assign(
        tf.tensor2d([
          [1, 1, 1],
          [-1, 0, 0],
        ]),
      );
      const left = ss.forward(at(3)).dataSync(); // row 1, col 0
      const right = ss.forward(at(5)).dataSync(); // row 1, col 2
      expect(left[0]).toBeLessThan(-0.5);
      expect(right[0]).toBeGreaterThan(0.5);
      const { grads } = tf.variableGrads(() => tf.sum(ss.forward(at(5))) as tf.Scalar, [ss.to_logits.weight]);
      expect(tf.max(tf.abs(grads[ss.to_logits.weight.name])).dataSync()[0]).toBeGreaterThan(1e-4);
    });
    const wrong = tf.zeros([1, 4, 3]);
    expect(() => ss.forward(wrong)).toThrow(/patches must be \[N, 9, dv\]/);
    wrong.dispose();
    ss.dispose();
  });
});

describe("vision.posEmbed 'sincos'", () => {
  it("is MAE's 2-D table: [sin c, cos c | sin r, cos r] at dim 4, zero for the class token", () => {
    const t = sincos2d(4, 2);
    expect(t.shape).toEqual([1, 5, 4]);
    const rows = t.arraySync()[0];
    close(rows[0], [0, 0, 0, 0]);
    close(rows[1], [0, 1, 0, 1]); // (r 0, c 0)
    close(rows[2], [Math.sin(1), Math.cos(1), 0, 1]); // (r 0, c 1)
    close(rows[3], [0, 1, Math.sin(1), Math.cos(1)]); // (r 1, c 0)
    t.dispose();
    expect(() => sincos2d(6, 2)).toThrow(/multiple of 4/);
  });

  it('is the ViT’s starting position table', () => {
    const cfg = { ...gr1Config('tiny').vision, posEmbed: 'sincos' as const };
    const vit = new VisionTransformer(cfg, new Rng(2));
    const want = sincos2d(cfg.dim, cfg.imageSize / cfg.patchSize);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(vit.pos_embed, want))).dataSync()[0])).toBe(0);
    want.dispose();
    vit.dispose();
  });
});

describe('Gr1Backbone with keypoint tokens', () => {
  it('adds one token per camera after its CLS token; the default layout is unchanged', () => {
    const base = gr1Config('tiny');
    const cfg = gr1Config('tiny', { vision: { ...base.vision, keypoints: 3, posEmbed: 'sincos' } });
    const bb = new Gr1Backbone(cfg, { seed: 1 });
    const plain = new Gr1Backbone(base, { seed: 1 });
    expect(bb.contextTokens).toBe(2 + 2 * (2 + 2));
    expect(plain.contextTokens).toBe(2 + 2 * (2 + 1));
    expect(bb.camera_embed.at(1).keypoints?.to_logits.weight.shape).toEqual([3, cfg.vision.dim]);
    expect(plain.camera_embed.at(0).keypoints).toBeUndefined();
    tf.tidy(() => {
      const px = cfg.vision.imageSize;
      const obs = {
        images: {
          front: tf.randomUniform([2, 2, px, px, 3], 0, 1, 'float32', 1),
          wrist: tf.randomUniform([2, 2, px, px, 3], 0, 1, 'float32', 2),
        },
        state: tf.zeros([2, 2, cfg.stateDim]),
        gripperState: tf.zeros([2, 2]),
        language: bb.tokenize(['a', 'b']),
        historyMask: tf.ones([2, 2], 'bool'),
      };
      const ctx = bb.encode(obs);
      expect(ctx.tokens.shape).toEqual([2, 2, 10, cfg.dim]);
    });
    bb.dispose();
    plain.dispose();
  });

  it('refuses bad fields by name', () => {
    const v = gr1Config('tiny').vision;
    expect(() => gr1Config('tiny', { vision: { ...v, keypoints: -1 } })).toThrow(/vision.keypoints/);
    expect(() => gr1Config('tiny', { vision: { ...v, keypoints: 1.5 } })).toThrow(/vision.keypoints/);
    expect(() => gr1Config('tiny', { vision: { ...v, posEmbed: 'rope' as 'sincos' } })).toThrow(
      /vision.posEmbed/,
    );
    expect(() => gr1Config('tiny', { vision: { ...v, dim: 34, heads: 2, posEmbed: 'sincos' } })).toThrow(
      /divisible by 4/,
    );
  });
});
