import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { RefinerVision, validateRefinerVision } from './vision.js';

describe('RefinerVision', () => {
  it('puts a keypoint on the bright cell (hand-set weights: score = 40 × mean cell brightness)', () => {
    const before = tf.memory().numTensors;
    // 8×8 images, 4-px cells → a 2×2 grid; one keypoint, width 1.
    const v = new RefinerVision(['front'], 8, { keypoints: 1, cell: 4, width: 1 }, 4, new Rng(0));
    const cam = v.cams[0];
    tf.tidy(() => {
      cam.cell_in.weight.assign(tf.fill([1, 48], 1 / 48)); // mean of the cell's 48 values
      cam.cell_in.bias?.assign(tf.zeros([1]));
      cam.cell_hidden.weight.assign(tf.fill([1, 1], 1));
      cam.cell_hidden.bias?.assign(tf.zeros([1]));
      cam.keypoints.to_logits.weight.assign(tf.fill([1, 1], 40));
      cam.keypoints.to_logits.bias?.assign(tf.zeros([1]));
      // token = (x, y) itself in its first two channels
      cam.embed.weight.assign(
        tf.tensor2d([
          [1, 0],
          [0, 1],
          [0, 0],
          [0, 0],
        ]),
      );
      cam.embed.bias?.assign(tf.zeros([4]));
    });
    // [B=1, L=2, 8, 8, 3]: slot 0 lit in the bottom-right cell (rows 4–7, cols 4–7), slot 1 top-left.
    const data = new Float32Array(2 * 8 * 8 * 3);
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++)
        for (let ch = 0; ch < 3; ch++) {
          if (r >= 4 && c >= 4) data[(r * 8 + c) * 3 + ch] = 1;
          if (r < 4 && c < 4) data[192 + (r * 8 + c) * 3 + ch] = 1;
        }
    const images = { front: tf.tensor(data, [1, 2, 8, 8, 3]) };
    const out = v.forward(images);
    expect(out.shape).toEqual([1, 2, 1, 4]);
    const y = out.dataSync();
    // gelu(1)·gelu-scaled score: the lit cell's logit ≈ 40·gelu(gelu(1)) ≈ 23, the others 0, so the
    // softmax puts ≈ all weight on it: (x, y) → (+½, +½) for slot 0 and (−½, −½) for slot 1.
    expect(y[0]).toBeCloseTo(0.5, 4);
    expect(y[1]).toBeCloseTo(0.5, 4);
    expect(y[4]).toBeCloseTo(-0.5, 4);
    expect(y[5]).toBeCloseTo(-0.5, 4);
    tf.dispose([out, images.front]);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('one token per camera, gradients reach every encoder weight', () => {
    const v = new RefinerVision(['front', 'wrist'], 8, { keypoints: 3, cell: 2, width: 5 }, 6, new Rng(1));
    const images = {
      front: tf.randomUniform([2, 1, 8, 8, 3], 0, 1, 'float32', 1),
      wrist: tf.randomUniform([2, 1, 8, 8, 3], 0, 1, 'float32', 2),
    };
    const params = v.parameters();
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(v.forward(images))) as tf.Scalar,
        params as tf.Variable[],
      );
      expect(value.dataSync()[0]).toBeGreaterThan(0);
      expect(Object.keys(grads).length).toBe(params.length);
      for (const g of Object.values(grads)) expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
      expect(v.forward(images).shape).toEqual([2, 1, 2, 6]);
    });
    expect(() => v.forward({ front: images.front })).toThrow(/missing camera 'wrist'/);
    tf.dispose([images.front, images.wrist]);
    v.dispose();
  });

  it('validates its config naming the field', () => {
    expect(() => validateRefinerVision({ keypoints: 0, cell: 4, width: 8 }, 96)).toThrow(
      /refine\.vision\.keypoints must be a positive integer/,
    );
    expect(() => validateRefinerVision({ keypoints: 4, cell: 5, width: 8 }, 96)).toThrow(
      /refine\.vision\.cell 5 must divide the image size 96/,
    );
  });
});
