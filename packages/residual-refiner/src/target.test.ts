import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { residualTarget } from './target.js';

describe('residualTarget (Eq. 5)', () => {
  it('is A − Â', () => {
    // A = [[1, 2], [3, 4]], Â = [[0.5, 2.5], [3, 3]] → R = [[0.5, −0.5], [0, 1]].
    const a = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
    const anc = tf.tensor3d([0.5, 2.5, 3, 3], [1, 2, 2]);
    const r = residualTarget(a, anc);
    expect(r.shape).toEqual([1, 2, 2]);
    expect(Array.from(r.dataSync())).toEqual([0.5, -0.5, 0, 1]);
    tf.dispose([a, anc, r]);
  });

  it('sends exactly zero gradient to the anchor, the full gradient to A', () => {
    // f = Σ R² → ∂f/∂A = 2R = [1, −1, 0, 2]; ∂f/∂Â = 0 (sg).
    const a = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
    const anc = tf.tensor3d([0.5, 2.5, 3, 3], [1, 2, 2]);
    const [ga, gAnc] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(residualTarget(x, y))))([
      a,
      anc,
    ]);
    expect(Array.from(ga.dataSync())).toEqual([1, -1, 0, 2]);
    expect(Array.from(gAnc.dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([a, anc, ga, gAnc]);
  });

  it('detach: false lets the gradient reach the anchor (w/o detached anchor ablation)', () => {
    // ∂(Σ R²)/∂Â = −2R = [−1, 1, 0, −2].
    const a = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
    const anc = tf.tensor3d([0.5, 2.5, 3, 3], [1, 2, 2]);
    const g = tf.grad((y: tf.Tensor) => tf.sum(tf.square(residualTarget(a, y, { detach: false }))))(anc);
    expect(Array.from(g.dataSync())).toEqual([-1, 1, -0, -2]);
    tf.dispose([a, anc, g]);
  });

  it('validates shapes', () => {
    const a = tf.zeros([1, 2, 2]);
    const anc = tf.zeros([1, 2, 3]);
    expect(() => residualTarget(a, anc)).toThrow(
      /residualTarget: anchorArm shape \[1, 2, 3\] must equal armTarget shape \[1, 2, 2\]/,
    );
    tf.dispose([a, anc]);
  });
});
