import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DomainAwareLinear } from './domain_linear.js';
import {
  convertRot6dOrder,
  ee6dLoss,
  ee6dPostprocess,
  matrixToRot6d,
  rot6dToMatrix,
  zeroGripper,
} from './ee6d.js';
import { flowTarget, noisyActions, sampleChunk, stratifiedTimes, timeEmbedding } from './flow.js';

describe('X-VLA flow pieces (hand-computed)', () => {
  it('time embedding: cos before sin, max period 100', () => {
    // dim 4: f = [1, 100^(−1/2) = 0.1]; t = 0.5 → args [0.5, 0.05]
    const t = tf.tensor1d([0.5, 0]);
    const e = timeEmbedding(t, 4);
    tf.test_util.expectArraysClose(
      e.dataSync(),
      [Math.cos(0.5), Math.cos(0.05), Math.sin(0.5), Math.sin(0.05), 1, 1, 0, 0],
      1e-6,
    );
    tf.dispose([t, e]);
  });

  it('x_t = t·ε + (1 − t)·A (t = 1 is pure noise)', () => {
    const a = tf.tensor3d([[[2, 4]], [[2, 4]]]);
    const eps = tf.tensor3d([[[0, 1]], [[0, 1]]]);
    const t = tf.tensor1d([0.25, 1]);
    const xt = noisyActions(a, eps, t);
    // b0: 0.25·[0,1] + 0.75·[2,4] = [1.5, 3.25]; b1: [0, 1]
    tf.test_util.expectArraysClose(xt.dataSync(), [1.5, 3.25, 0, 1], 1e-6);
    const v = flowTarget('velocity', a, eps);
    const x0 = flowTarget('x0', a, eps);
    tf.test_util.expectArraysClose(v.dataSync(), [-2, -3, -2, -3], 1e-6);
    tf.test_util.expectArraysClose(x0.dataSync(), [2, 4, 2, 4], 1e-6);
    tf.dispose([a, eps, t, xt, v, x0]);
  });

  it('stratified times: (u + b/B) mod (1 − 1e-5)', () => {
    expect(Array.from(stratifiedTimes(4, 0.6))).toEqual(
      [0.6, 0.85, 0.1 + 1e-5, 0.35 + 1e-5].map((x) => Math.fround(x)),
    );
  });

  it('x0 sampler re-noises its own estimate with one draw: t = 1, 0.5 for 2 steps', () => {
    const x1 = tf.tensor3d([[[4]]]);
    const seen: number[][] = [];
    // f returns x_t + t so each pass is traceable: pass 1 (t=1): x_t = x1 = 4 → 5; pass 2 (t=0.5): 0.5·4 + 0.5·5 = 4.5 → 5
    const f = (xt: tf.Tensor, t: tf.Tensor) => {
      seen.push([xt.dataSync()[0], t.dataSync()[0]]);
      return tf.add(xt, tf.reshape(t, [-1, 1, 1]));
    };
    const out = sampleChunk('x0', f, x1, 2);
    expect(seen).toEqual([
      [4, 1],
      [4.5, 0.5],
    ]);
    expect(out.dataSync()[0]).toBe(5);
    // velocity / Euler: x ← x − ½·f: 4 − ½·(4 + 1) = 1.5, then 1.5 − ½·(1.5 + 0.5) = 0.5
    const v = sampleChunk('velocity', f, x1, 2);
    expect(v.dataSync()[0]).toBeCloseTo(0.5, 6);
    tf.dispose([x1, out, v]);
  });
});

describe('EE6D', () => {
  // R = rotation of 90° about z: columns c0 = (0, 1, 0), c1 = (−1, 0, 0)
  const R = [
    [0, -1, 0],
    [1, 0, 0],
    [0, 0, 1],
  ];

  it('rot6d memory orders: interleaved [r00 r01 r10 r11 r20 r21], contiguous [r00 r10 r20 r01 r11 r21]', () => {
    const m = tf.tensor3d([R]);
    const a = matrixToRot6d(m, 'interleaved');
    const b = matrixToRot6d(m, 'contiguous');
    expect(Array.from(a.dataSync())).toEqual([0, -1, 1, 0, 0, 0]);
    expect(Array.from(b.dataSync())).toEqual([0, 1, 0, -1, 0, 0]);
    for (const [r6, order] of [
      [a, 'interleaved'],
      [b, 'contiguous'],
    ] as const) {
      const back = rot6dToMatrix(r6, order);
      tf.test_util.expectArraysClose(back.dataSync(), R.flat(), 1e-6);
      back.dispose();
    }
    tf.dispose([m, a, b]);
  });

  it('Gram-Schmidt orthonormalizes a scaled, skewed 6D input; order conversion touches only rotations', () => {
    // interleaved columns c0 = (2, 0, 0), c1 = (1, 3, 0) → R columns (1,0,0), (0,1,0), (0,0,1)
    const r6 = tf.tensor2d([[2, 1, 0, 3, 0, 0]]);
    const m = rot6dToMatrix(r6, 'interleaved');
    tf.test_util.expectArraysClose(m.dataSync(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-6);
    const x = tf.tensor1d(Array.from({ length: 20 }, (_, i) => i));
    const y = convertRot6dOrder(x, 'interleaved', 'contiguous');
    // arm 1 rot channels 3..8 hold [r00 r01 r10 r11 r20 r21] = [3..8] → contiguous [r00 r10 r20 r01 r11 r21]
    expect(Array.from(y.dataSync())).toEqual([
      0, 1, 2, 3, 5, 7, 4, 6, 8, 9, 10, 11, 12, 13, 15, 17, 14, 16, 18, 19,
    ]);
    tf.dispose([r6, m, x, y]);
  });

  it('loss weights: position ×500, rotation ×10, gripper BCE (mean of the 2 channels)', () => {
    const pred = new Float32Array(20);
    const target = new Float32Array(20);
    pred[0] = 0.1; // arm-1 position error 0.1 → MSE over 3 channels = 0.01/3
    pred[13] = 0.3; // arm-2 rotation error → MSE over 6 channels = 0.09/6
    target[9] = 1; // gripper logits 0 → BCE ln 2 on both channels
    const p = tf.tensor3d(pred, [1, 1, 20]);
    const t = tf.tensor3d(target, [1, 1, 20]);
    const l = ee6dLoss(p, t, { position: 500, rotation: 10, gripper: 1 });
    expect(l.position.dataSync()[0]).toBeCloseTo((500 * 0.01) / 3, 4);
    expect(l.rotation.dataSync()[0]).toBeCloseTo((10 * 0.09) / 6, 5);
    expect(l.gripper.dataSync()[0]).toBeCloseTo(Math.LN2, 5);
    expect(l.loss.dataSync()[0]).toBeCloseTo((500 * 0.01) / 3 + 0.15 + Math.LN2, 4);
    const z = zeroGripper(t);
    const s = ee6dPostprocess(p);
    expect(z.dataSync()[9]).toBe(0);
    expect(s.dataSync()[9]).toBeCloseTo(0.5, 6);
    expect(s.dataSync()[0]).toBeCloseTo(0.1, 6);
    tf.dispose([p, t, z, s, l.loss, l.position, l.rotation, l.gripper]);
  });
});

describe('DomainAwareLinear', () => {
  it('gathers [in, out] rows per domain: y = x·W_d + b_d', () => {
    const lin = new DomainAwareLinear(2, 2, 1, { rng: new Rng(0) });
    const w = tf.tensor2d([
      [1, 2],
      [3, -1],
    ]); // domain 0: W = [[1], [2]]; domain 1: W = [[3], [−1]]
    const b = tf.tensor2d([[0.5], [-2]]);
    lin.loadStateDict({ 'fc.weight': w, 'bias.weight': b });
    const x = tf.tensor3d([[[1, 1]], [[1, 1]]]);
    const d = tf.tensor1d([0, 1], 'int32');
    const y = lin.forward(x, d);
    expect(Array.from(y.dataSync())).toEqual([3.5, 0]);
    tf.dispose([w, b, x, d, y]);
    lin.dispose();
  });
});
