/** composeResidual on a few cases worked out by hand (runs on the active test backend). */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { composeResidual } from './ops/compose_residual.js';
import { composeResidualReference } from './ops/compose_residual_reference.js';
import type { ComposeInputs, ComposeOptions } from './ops/compose_types.js';

function run(inputs: () => ComposeInputs, options: ComposeOptions, impl = composeResidual) {
  return tf.tidy(() => {
    const r = impl(inputs(), options);
    return { arm: r.arm.arraySync(), prob: r.prob.arraySync(), closed: r.closed.arraySync() };
  });
}

describe.each([
  ['composeResidual', composeResidual],
  ['composeResidualReference', composeResidualReference],
] as const)('%s by hand', (_name, impl) => {
  it('mean_std: arm = (anchor + delta) * std + mean; prob = sigmoid(0) + 0.2', () => {
    // arm[0] = (0.5 + 0.1) * 2 + 1 = 2.2 ; arm[1] = (-1 + 0.2) * 0.5 + 0 = -0.4
    // prob = 0.5 + 0.2 = 0.7 > 0.5 -> closed
    const r = run(
      () => ({
        anchor: tf.tensor2d([[0.5, -1]]),
        delta: tf.tensor2d([[0.1, 0.2]]),
        gripLogit: tf.tensor1d([0]),
        gripDelta: tf.tensor1d([0.2]),
      }),
      { unnormalize: { mode: 'mean_std', mean: [1, 0], std: [2, 0.5] } },
      impl,
    );
    expect((r.arm as number[][])[0][0]).toBeCloseTo(2.2, 6);
    expect((r.arm as number[][])[0][1]).toBeCloseTo(-0.4, 6);
    expect((r.prob as number[])[0]).toBeCloseTo(0.7, 6);
    expect(r.closed).toEqual([1]);
  });

  it('quantile: scale = (q99 - q01) / 2, shift = (q99 + q01) / 2; no delta', () => {
    // q01 = [-1, 0], q99 = [3, 1] -> scale [2, 0.5], shift [1, 0.5]
    // arm = [1 * 2 + 1, -1 * 0.5 + 0.5] = [3, 0]
    // prob = sigmoid(ln 3) - 0.3 = 0.75 - 0.3 = 0.45 -> open
    const r = run(
      () => ({
        anchor: tf.tensor2d([[1, -1]]),
        gripLogit: tf.tensor1d([Math.log(3)]),
        gripDelta: tf.tensor1d([-0.3]),
      }),
      { unnormalize: { mode: 'quantile', q01: [-1, 0], q99: [3, 1] } },
      impl,
    );
    expect((r.arm as number[][])[0][0]).toBeCloseTo(3, 6);
    expect((r.arm as number[][])[0][1]).toBeCloseTo(0, 6);
    expect((r.prob as number[])[0]).toBeCloseTo(0.45, 6);
    expect(r.closed).toEqual([0]);
  });

  it('bounds clamp the arm; prob clips to [0, 1]', () => {
    // arm = clamp([2, -3], -1, 1) = [1, -1]
    // row 0: sigmoid(10) + 0.5 = 1.49995 -> 1 (closed); row 1: sigmoid(-10) - 0.1 < 0 -> 0 (open)
    const r = run(
      () => ({
        anchor: tf.tensor2d([
          [2, -3],
          [0.25, 0.5],
        ]),
        gripLogit: tf.tensor1d([10, -10]),
        gripDelta: tf.tensor1d([0.5, -0.1]),
      }),
      { bounds: { low: [-1, -1], high: [1, 1] } },
      impl,
    );
    expect(r.arm).toEqual([
      [1, -1],
      [0.25, 0.5],
    ]);
    expect(r.prob).toEqual([1, 0]);
    expect(r.closed).toEqual([1, 0]);
  });

  it("gradients: d arm/d anchor = std inside the bounds, 0 when clamped; d prob/d logit = sigmoid'", () => {
    // y = (a + d) * 2 + 1: row 0 a = 0.5 -> y = 2.2 (inside [-5, 5]) -> d/da = d/dd = 2
    //                      row 1 a = 3   -> y = 7.2 (clamped to 5)  -> 0
    // prob = sigmoid(l) + g: at l = 0, d/dl = 0.25 and d/dg = 1; row 1: sigmoid(4) + 0.5 > 1 -> clipped -> 0
    const grads = tf.tidy(() => {
      const f = (anchor: tf.Tensor, delta: tf.Tensor, gripLogit: tf.Tensor, gripDelta: tf.Tensor) => {
        const r = impl(
          { anchor, delta, gripLogit, gripDelta },
          { unnormalize: { mode: 'mean_std', mean: [1], std: [2] }, bounds: { low: [-5], high: [5] } },
        );
        return tf.add(tf.sum(r.arm), tf.sum(r.prob)) as tf.Scalar;
      };
      const xs = [
        tf.tensor2d([[0.5], [3]]),
        tf.tensor2d([[0.1], [0.1]]),
        tf.tensor1d([0, 4]),
        tf.tensor1d([0.1, 0.5]),
      ];
      return tf
        .grads((a, b, c, d) => f(a, b, c, d))(xs)
        .map((g) => Array.from(g.dataSync()));
    });
    expect(grads[0]).toEqual([2, 0]);
    expect(grads[1]).toEqual([2, 0]);
    expect(grads[2][0]).toBeCloseTo(0.25, 6);
    expect(grads[2][1]).toBe(0);
    expect(grads[3]).toEqual([1, 0]);
  });
});
