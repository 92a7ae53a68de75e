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
});
