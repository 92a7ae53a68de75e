/**
 * Gradients against central differences of the float64 formulas (test-utils/float64_reference.ts), on
 * small shapes: the native kernels (when the addon is present) and the composite references on tfjs-cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { composeResidual } from './ops/compose_residual.js';
import { fusedAttention } from './ops/fused_attention.js';
import { compareArrays } from './test-utils/check_op.js';
import { attention64, compose64, dot64, numericGrad } from './test-utils/float64_reference.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

const backends = nativeAvailable() ? (['native', 'cpu'] as const) : (['cpu'] as const);
let previous = '';
beforeAll(() => {
  previous = tf.getBackend();
});
afterAll(async () => {
  await tf.setBackend(previous);
});

function expectClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
) {
  const c = compareArrays(actual, expected, atol, rtol);
  expect(
    c.ok,
    `${name}: index ${c.index} got ${c.actual}, finite differences ${c.expected} (max |err| ${c.maxErr})`,
  ).toBe(true);
}

describe.each(backends)('finite differences on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });

  const [B, H, Tq, Tk, D] = [2, 2, 3, 4, 3];
  const attentionCases = [
    { name: 'plain', causal: false, mask: false, bias: undefined as number[] | undefined },
    { name: 'causal + key padding', causal: true, mask: true, bias: undefined },
    { name: 'bias [Tq,Tk] with -Infinity', causal: false, mask: false, bias: [Tq, Tk] },
    { name: 'causal + padding + bias [B,1,Tq,Tk]', causal: true, mask: true, bias: [B, 1, Tq, Tk] },
  ];
  for (const c of attentionCases) {
    it(`fusedAttention ${c.name}`, () => {
      const rng = makeRng(5);
      const q = rng.normals(B * H * Tq * D);
      const k = rng.normals(B * H * Tk * D);
      const v = rng.normals(B * H * Tk * D);
      const cot = rng.normals(B * H * Tq * D);
      // batch 1 pads its first key; every row of batch 0 query 0 still sees key 0 under causal
      const mask = c.mask ? Uint8Array.from([0, 0, 1, 0, 1, 0, 0, 1]) : undefined;
      const biasShape = c.bias;
      const biasVals = biasShape
        ? Float32Array.from({ length: biasShape.reduce((a, b) => a * b, 1) }, (_, i) =>
            i % 5 === 4 ? -Infinity : rng.normal(),
          )
        : undefined;
      const scale = 1 / Math.sqrt(D);
      const args = (bias?: ArrayLike<number>) => ({
        batch: B,
        heads: H,
        qLen: Tq,
        kLen: Tk,
        headDim: D,
        scale,
        causal: c.causal,
        mask,
        bias: biasShape && bias ? { values: bias, shape: biasShape } : undefined,
      });
      const fd = {
        q: numericGrad((x) => dot64(attention64(args(biasVals), x, k, v), cot), q),
        k: numericGrad((x) => dot64(attention64(args(biasVals), q, x, v), cot), k),
        v: numericGrad((x) => dot64(attention64(args(biasVals), q, k, x), cot), v),
        bias: biasVals ? numericGrad((x) => dot64(attention64(args(x), q, k, v), cot), biasVals) : undefined,
      };
      const grads = tf.tidy(() => {
        const maskT = mask ? tf.tensor2d(mask, [B, Tk], 'bool') : undefined;
        const xs = [
          tf.tensor4d(q, [B, H, Tq, D]),
          tf.tensor4d(k, [B, H, Tk, D]),
          tf.tensor4d(v, [B, H, Tk, D]),
          ...(biasVals && biasShape ? [tf.tensor(biasVals, biasShape)] : []),
        ];
        const f = (...t: tf.Tensor[]) =>
          tf.sum(
            tf.mul(
              fusedAttention(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, {
                causal: c.causal,
                keyPaddingMask: maskT,
                bias: t[3],
              }),
              tf.tensor(cot, [B, H, Tq, D]),
            ),
          ) as tf.Scalar;
        return tf
          .grads(f)(xs)
          .map((g) => g.dataSync().slice());
      });
      expectClose('dq', grads[0], fd.q, 1e-3, 1e-2);
      expectClose('dk', grads[1], fd.k, 1e-3, 1e-2);
      expectClose('dv', grads[2], fd.v, 1e-3, 1e-2);
      if (fd.bias) expectClose('dbias', grads[3], fd.bias, 1e-3, 1e-2);
    });
  }

  it('composeResidual, mean_std + bounds', () => {
    const rng = makeRng(9);
    const [rows, A] = [5, 3];
    const anchor = rng.normals(rows * A);
    const delta = rng.normals(rows * A, 0.3);
    const gripLogit = rng.normals(rows, 1.5);
    const gripDelta = rng.normals(rows, 0.2);
    const cot = rng.normals(rows * A);
    const cotP = rng.normals(rows);
    const mean = [0.1, -0.2, 0.3];
    const std = [1.5, 0.5, 2];
    const low = [-1, -0.6, -2.5];
    const high = [1.2, 0.4, 2.5];
    const a = { rows, armDim: A, scale: std, shift: mean, low, high };
    const loss = (
      an: ArrayLike<number>,
      de: ArrayLike<number>,
      gl: ArrayLike<number>,
      gd: ArrayLike<number>,
    ) => {
      const r = compose64(a, an, de, gl, gd);
      return dot64(r.arm, cot) + dot64(r.prob, cotP);
    };
    const fd = [
      numericGrad((x) => loss(x, delta, gripLogit, gripDelta), anchor),
      numericGrad((x) => loss(anchor, x, gripLogit, gripDelta), delta),
      numericGrad((x) => loss(anchor, delta, x, gripDelta), gripLogit),
      numericGrad((x) => loss(anchor, delta, gripLogit, x), gripDelta),
    ];
    const grads = tf.tidy(() => {
      const xs = [
        tf.tensor2d(anchor, [rows, A]),
        tf.tensor2d(delta, [rows, A]),
        tf.tensor1d(gripLogit),
        tf.tensor1d(gripDelta),
      ];
      const f = (...t: tf.Tensor[]) => {
        const r = composeResidual(
          { anchor: t[0], delta: t[1], gripLogit: t[2], gripDelta: t[3] },
          { unnormalize: { mode: 'mean_std', mean, std }, bounds: { low, high } },
        );
        return tf.add(
          tf.sum(tf.mul(r.arm, tf.tensor2d(cot, [rows, A]))),
          tf.sum(tf.mul(r.prob, tf.tensor1d(cotP))),
        ) as tf.Scalar;
      };
      return tf
        .grads(f)(xs)
        .map((g) => g.dataSync().slice());
    });
    ['dAnchor', 'dDelta', 'dGripLogit', 'dGripDelta'].forEach((name, i) => {
      expectClose(name, grads[i], fd[i], 1e-4, 1e-3);
    });
  });
});
