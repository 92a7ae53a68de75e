import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { refineLoss } from './loss.js';

// B = 1, H = 2, D = 2.
// A = [[1, 2], [3, 4]], Â = [[0.5, 2.5], [3, 3]] → R = A − Â = [[0.5, −0.5], [0, 1]].
// ΔÂ = [[0.5, 0], [1, 1]] → ΔÂ − R = [[0, 0.5], [1, 0]] → squared [[0, 0.25], [1, 0]].
function setup(): { dp: tf.Tensor3D; a: tf.Tensor3D; anc: tf.Tensor3D } {
  return {
    dp: tf.tensor3d([0.5, 0, 1, 1], [1, 2, 2]),
    a: tf.tensor3d([1, 2, 3, 4], [1, 2, 2]),
    anc: tf.tensor3d([0.5, 2.5, 3, 3], [1, 2, 2]),
  };
}

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('refineLoss (Eq. 7)', () => {
  it('residual: mean ||ΔÂ − R||² over elements', () => {
    // (0 + 0.25 + 1 + 0) / 4 = 0.3125.
    const { dp, a, anc } = setup();
    const l = refineLoss(dp, a, anc);
    expect(l.rank).toBe(0);
    expect(l.dataSync()[0]).toBeCloseTo(0.3125, 6);
    tf.dispose([dp, a, anc, l]);
  });

  it('direct: mean ||ΔÂ − A||², the anchor is not needed', () => {
    // ΔÂ − A = [[−0.5, −2], [−2, −3]] → (0.25 + 4 + 4 + 9) / 4 = 4.3125.
    const { dp, a, anc } = setup();
    const l1 = refineLoss(dp, a, anc, { target: 'direct' });
    const l2 = refineLoss(dp, a, undefined, { target: 'direct' });
    expect(l1.dataSync()[0]).toBeCloseTo(4.3125, 6);
    expect(l2.dataSync()[0]).toBeCloseTo(4.3125, 6);
    tf.dispose([dp, a, anc, l1, l2]);
  });

  it('mask averages over valid steps only', () => {
    // mask [1, 0]: step 0 only → (0 + 0.25) / (1·2) = 0.125.
    // mask [0, 1]: step 1 only → (1 + 0) / (1·2) = 0.5.
    // mask [1, 1]: = unmasked 0.3125.  mask [0, 0]: no valid step → 0.
    const { dp, a, anc } = setup();
    const cases: Array<[number[], number]> = [
      [[1, 0], 0.125],
      [[0, 1], 0.5],
      [[1, 1], 0.3125],
      [[0, 0], 0],
    ];
    for (const [m, expected] of cases) {
      const mask = tf.tensor2d(m, [1, 2]);
      const l = refineLoss(dp, a, anc, { mask });
      expect(l.dataSync()[0]).toBeCloseTo(expected, 6);
      tf.dispose([mask, l]);
    }
    tf.dispose([dp, a, anc]);
  });

  it("padding 'zero': ΔÂ² on padded steps, (ΔÂ − R)² on valid ones, averaged over every element", () => {
    // mask [1, 0]: step 0 squared errors [0, 0.25], step 1 ΔÂ² = [1, 1] → (0 + 0.25 + 1 + 1) / 4 = 0.5625.
    // mask [0, 1]: step 0 ΔÂ² = [0.25, 0], step 1 errors [1, 0] → (0.25 + 0 + 1 + 0) / 4 = 0.3125.
    // mask [1, 1]: the unmasked 0.3125.  mask [0, 0]: every ΔÂ² → (0.25 + 0 + 1 + 1) / 4 = 0.5625.
    const { dp, a, anc } = setup();
    const cases: Array<[number[], number]> = [
      [[1, 0], 0.5625],
      [[0, 1], 0.3125],
      [[1, 1], 0.3125],
      [[0, 0], 0.5625],
    ];
    for (const [m, expected] of cases) {
      const mask = tf.tensor2d(m, [1, 2]);
      const l = refineLoss(dp, a, anc, { mask, padding: 'zero' });
      expect(l.dataSync()[0]).toBeCloseTo(expected, 6);
      tf.dispose([mask, l]);
    }
    // the gradient on a padded step pulls ΔÂ to 0: d/dΔÂ of ΔÂ²/4 = ΔÂ/2 = [0.5, 0.5] at step 1
    const mask = tf.tensor2d([1, 0], [1, 2]);
    const g = tf.grad((x: tf.Tensor) => refineLoss(x, a, anc, { mask, padding: 'zero' }))(dp);
    expect(values(g).slice(2)).toEqual([0.5, 0.5]);
    expect(() => refineLoss(dp, a, anc, { padding: 'zero' })).toThrow(/needs a mask/);
    expect(() => refineLoss(dp, a, anc, { mask, padding: 'zero', target: 'direct' })).toThrow(
      /target 'residual'/,
    );
    tf.dispose([dp, a, anc, mask, g]);
  });

  it('mask works across the batch', () => {
    // B = 2: batch 0 as above, batch 1 all-zero prediction/target (error 0); mask [[1, 0], [1, 1]]
    // → valid steps 3 → (0 + 0.25 + 0 + 0 + 0 + 0) / (3·2) = 0.041666…
    const dp = tf.tensor3d([0.5, 0, 1, 1, 0, 0, 0, 0], [2, 2, 2]);
    const a = tf.tensor3d([1, 2, 3, 4, 0, 0, 0, 0], [2, 2, 2]);
    const anc = tf.tensor3d([0.5, 2.5, 3, 3, 0, 0, 0, 0], [2, 2, 2]);
    const mask = tf.tensor2d([1, 0, 1, 1], [2, 2], 'int32');
    const l = refineLoss(dp, a, anc, { mask });
    expect(l.dataSync()[0]).toBeCloseTo(0.25 / 6, 6);
    tf.dispose([dp, a, anc, mask, l]);
  });

  it('gradient: 2(ΔÂ − R)/N to ΔÂ, exactly 0 to the anchor', () => {
    // 2·[0, 0.5, 1, 0]/4 = [0, 0.25, 0.5, 0].
    const { dp, a, anc } = setup();
    const [gd, gAnc] = tf.grads((x: tf.Tensor, y: tf.Tensor) => refineLoss(x, a, y))([dp, anc]);
    values(gd).forEach((v, i) => {
      expect(v).toBeCloseTo([0, 0.25, 0.5, 0][i], 6);
    });
    expect(values(gAnc)).toEqual([0, 0, 0, 0]);
    tf.dispose([dp, a, anc, gd, gAnc]);
  });

  it('masked gradient only reaches valid steps', () => {
    // mask [1, 0]: ∂L/∂ΔÂ = 2(ΔÂ − R)·m / (1·2) = [0, 0.5, 0, 0].
    const { dp, a, anc } = setup();
    const mask = tf.tensor2d([1, 0], [1, 2]);
    const g = tf.grad((x: tf.Tensor) => refineLoss(x, a, anc, { mask }))(dp);
    values(g).forEach((v, i) => {
      expect(v).toBeCloseTo([0, 0.5, 0, 0][i], 6);
    });
    tf.dispose([dp, a, anc, mask, g]);
  });

  it('detachAnchor: false sends 2(ΔÂ − R)/N to the anchor', () => {
    const { dp, a, anc } = setup();
    const g = tf.grad((y: tf.Tensor) => refineLoss(dp, a, y, { detachAnchor: false }))(anc);
    values(g).forEach((v, i) => {
      expect(v).toBeCloseTo([0, 0.25, 0.5, 0][i], 6);
    });
    tf.dispose([dp, a, anc, g]);
  });

  it('validates shapes, mask and target', () => {
    const { dp, a, anc } = setup();
    const a4 = tf.zeros([1, 2, 3]);
    const flat = tf.zeros([4]);
    const m3 = tf.ones([1, 3]);
    const mHalf = tf.tensor2d([1, 0.5], [1, 2]);
    expect(() => refineLoss(flat, a, anc)).toThrow(/refineLoss: deltaPred must be \[B, H, D\].*\[4\]/);
    expect(() => refineLoss(dp, a4, anc)).toThrow(
      /armTarget shape \[1, 2, 3\] must equal deltaPred shape \[1, 2, 2\]/,
    );
    expect(() => refineLoss(dp, a, a4)).toThrow(/anchorArm shape \[1, 2, 3\]/);
    expect(() => refineLoss(dp, a, undefined)).toThrow(/anchorArm is required/);
    expect(() => refineLoss(dp, a, anc, { mask: m3 })).toThrow(
      /mask shape \[1, 3\] must be \[B, H\] = \[1, 2\]/,
    );
    expect(() => refineLoss(dp, a, anc, { mask: mHalf })).toThrow(/mask must be in \{0, 1\}.*0\.5/);
    expect(() => refineLoss(dp, a, anc, { target: 'abs' as 'direct' })).toThrow(/unknown target 'abs'/);
    tf.dispose([dp, a, anc, a4, flat, m3, mHalf]);
  });
});
