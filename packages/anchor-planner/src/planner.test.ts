import { Gr1Backbone, gr1Config } from '@anchor-refine/backbones';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AnchorPlanner } from './planner.js';

describe('AnchorPlanner (Eq. 3)', () => {
  it('maps C to an arm chunk and gripper logits for every history slot', () => {
    const cfg = gr1Config('tiny');
    const bb = new Gr1Backbone(cfg);
    const planner = new AnchorPlanner(bb, { horizon: 5, armDim: 3, depth: 1 });
    tf.tidy(() => {
      const ctx = {
        tokens: tf.randomNormal([2, 2, 8, cfg.dim]),
        historyMask: tf.tensor2d([1, 1, 1, 0], [2, 2], 'bool'),
      };
      const out = planner.forward(ctx);
      expect(out.arm.shape).toEqual([2, 2, 5, 3]);
      expect(out.gripperLogits.shape).toEqual([2, 2, 5]);
    });
    expect(planner.queries.shape).toEqual([5, cfg.dim]);
    expect(() => new AnchorPlanner(bb, { horizon: 0, armDim: 3, depth: 1 })).toThrow(/horizon/);
    planner.dispose();
    bb.dispose();
  });

  it('forwardWith: extra read-out queries leave the anchor chunk unchanged and come back per slot', () => {
    const cfg = gr1Config('tiny');
    const bb = new Gr1Backbone(cfg);
    const planner = new AnchorPlanner(bb, { horizon: 5, armDim: 3, depth: 2, seed: 3 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const ctx = {
        tokens: tf.randomNormal([2, 2, 8, cfg.dim], 0, 1, 'float32', 1),
        historyMask: tf.tensor2d([1, 1, 1, 0], [2, 2], 'bool'),
      };
      const plain = planner.forward(ctx);
      const extra = tf.randomNormal([4, cfg.dim], 0, 1, 'float32', 2);
      const withExtra = planner.forwardWith(ctx, extra);
      expect(withExtra.extra.shape).toEqual([2, 2, 4, cfg.dim]);
      // No token attends to a query token: the action read-outs cannot see the extra queries.
      expect(tf.max(tf.abs(tf.sub(withExtra.arm, plain.arm))).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(tf.sub(withExtra.gripperLogits, plain.gripperLogits))).dataSync()[0]).toBeLessThan(
        1e-5,
      );
      // ...but the extra read-outs do depend on the context.
      const moved = planner.forwardWith(
        { ...ctx, tokens: tf.add(ctx.tokens, tf.randomNormal(ctx.tokens.shape, 0, 1, 'float32', 3)) },
        extra,
      );
      expect(tf.max(tf.abs(tf.sub(moved.extra, withExtra.extra))).dataSync()[0]).toBeGreaterThan(1e-3);
    });
    expect(tf.memory().numTensors).toBe(before);
    planner.dispose();
    bb.dispose();
  });
});
