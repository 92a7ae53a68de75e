/** noGrad: ops run with the tape off (torch.no_grad) — results are constants to the gradient. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { noGrad } from './ops/no_grad.js';
import { stopGradient } from './ops/stop_gradient.js';

/** Tape length inside a gradient function (tfjs's engine keeps the active tape on its state). */
const tapeLength = () =>
  (tf.engine().state as unknown as { activeTape: unknown[] | null }).activeTape?.length ?? 0;

describe('noGrad', () => {
  it('blocks the gradient exactly like stopGradient: d/dw sum(noGrad(x*w) + c*w) = c', () => {
    const [x, c, w] = [tf.tensor1d([1, 2, 3]), tf.tensor1d([0.5, -1, 2]), tf.tensor1d([4, 5, 6])];
    const g1 = tf.grad((wt: tf.Tensor) =>
      tf.sum(
        tf.add(
          noGrad(() => tf.mul(x, wt)),
          tf.mul(c, wt),
        ),
      ),
    )(w);
    const g2 = tf.grad((wt: tf.Tensor) => tf.sum(tf.add(stopGradient(tf.mul(x, wt)), tf.mul(c, wt))))(w);
    expect(Array.from(g1.dataSync())).toEqual([0.5, -1, 2]);
    expect(Array.from(g2.dataSync())).toEqual([0.5, -1, 2]);
    // the forward value is unchanged
    const y = tf.tidy(() => noGrad(() => tf.mul(x, w)));
    expect(Array.from(y.dataSync())).toEqual([4, 10, 18]);
    tf.dispose([x, c, w, g1, g2, y]);
  });

  it('puts nothing on the tape inside a gradient function, and restores recording after', () => {
    const init = tf.tensor1d([1, 2]);
    const w = tf.variable(init);
    init.dispose();
    const lengths: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const a = tf.mul(w, 2); // taped
      lengths.push(tapeLength());
      const frozen = noGrad(() => tf.exp(tf.mul(tf.add(a, 1), 3))); // three ops, none taped
      lengths.push(tapeLength());
      const out = tf.sum(tf.mul(a, frozen)); // taped again
      lengths.push(tapeLength());
      return out as tf.Scalar;
    }, [w]);
    expect(lengths[1]).toBe(lengths[0]);
    expect(lengths[2]).toBeGreaterThan(lengths[1]);
    // d/dw sum(2w * const) = 2 * const, const = exp(3(2w + 1))
    const want = [1, 2].map((wi) => 2 * Math.exp(3 * (2 * wi + 1)));
    const got = Array.from(grads[w.name].dataSync());
    got.forEach((g, i) => {
      expect(Math.abs(g - want[i]) / want[i]).toBeLessThan(1e-6);
    });
    tf.dispose([value, ...Object.values(grads), w]);
  });

  it('restores gradient recording when fn throws', () => {
    const w = tf.tensor1d([1, 2]);
    const g = tf.grad((wt: tf.Tensor) => {
      expect(() =>
        noGrad(() => {
          throw new Error('inside');
        }),
      ).toThrow('inside');
      return tf.sum(tf.mul(wt, wt));
    })(w);
    expect(Array.from(g.dataSync())).toEqual([2, 4]);
    tf.dispose([w, g]);
  });
});
