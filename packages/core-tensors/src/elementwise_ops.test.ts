/**
 * Backend-ops suite, part 2: the native elementwise (binary/unary), reduction (Sum/Mean/Max), Transpose,
 * LayerNorm and Gelu kernels against tfjs-cpu / the composite references through `checkOp` (forward
 * and gradients), plus finite differences, dtype delegation, determinism and error messages.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BinaryOp, loadAddon } from './addon.js';
import { selectBackend, setThreads } from './backend.js';
import { tileGradView } from './gradients/Tile_grad.js';
import { setSmallElementwiseCutoff } from './kernels/elementwise_kernels.js';
import { gelu } from './ops/gelu.js';
import { geluReference } from './ops/gelu_reference.js';
import { layerNorm } from './ops/layer_norm.js';
import { layerNormReference } from './ops/layer_norm_reference.js';
import { checkOp, compareArrays, type InputSpec } from './test-utils/check_op.js';
import { dot64, numericGrad } from './test-utils/float64_reference.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

const native = nativeAvailable();

// Every size through the addon here, also the tiny shapes that the backend would keep in JS.
let cutoff = 0;
beforeAll(() => {
  cutoff = setSmallElementwiseCutoff(0);
});
afterAll(() => {
  setSmallElementwiseCutoff(cutoff);
});

const binaryOps: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['Add', tf.add],
  ['Sub', tf.sub],
  ['Multiply', tf.mul],
  ['RealDiv', tf.div],
  ['Maximum', tf.maximum],
  ['Minimum', tf.minimum],
  ['SquaredDifference', tf.squaredDifference],
];

/** Values away from 0 (for divisors, logs, square roots). */
function positive(shape: number[], seed: number): InputSpec {
  const rng = makeRng(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return { shape, values: Float32Array.from({ length: n }, () => 0.5 + Math.abs(rng.normal())) };
}

const noBroadcastGrad = new Set(['Maximum', 'Minimum', 'SquaredDifference']);

describe.skipIf(!native)('binary kernels with broadcasting (native vs tfjs-cpu)', () => {
  const patterns: [string, number[], number[]][] = [
    ['same shape', [3, 4], [3, 4]],
    ['[2,1,3] + [4,3]', [2, 1, 3], [4, 3]],
    ['scalar b', [3, 4], []],
    ['scalar a', [], [3, 4]],
    ['[N,C] + [C]', [5, 7], [7]],
    ['[N,1] + [N,C]', [5, 1], [5, 7]],
    ['[1,C] + [N,1] (outer)', [1, 6], [4, 1]],
    ['rank 5 [2,1,3,1,4] + [3,2,4]', [2, 1, 3, 1, 4], [3, 2, 4]],
    ['rank 6 [2,1,2,1,2,3] + [2,1,2,1,3]', [2, 1, 2, 1, 2, 3], [2, 1, 2, 1, 3]],
    ['size-1 dims [1,1] + [1]', [1, 1], [1]],
    ['size-0 dim [0,3] + [3]', [0, 3], [3]],
    ['large same shape (threaded)', [96, 1024], [96, 1024]],
    ['large [N,C] + [C] (threaded)', [512, 256], [256]],
    ['large middle broadcast [8,1,256] * [8,64,256]', [8, 1, 256], [8, 64, 256]],
    ['short rows, grouped: image [4,9,11,3] by channel [3]', [4, 9, 11, 3], [3]],
    ['short rows, grouped: [3] by [37,3]', [3], [37, 3]],
    ['short rows, grouped and threaded: [12,48,48,3] by [3]', [12, 48, 48, 3], [3]],
  ];
  for (const [op, fn] of binaryOps) {
    for (const [name, a, b] of patterns) {
      // tfjs 4.22's Maximum/Minimum/SquaredDifference gradients do not reduce broadcast dimensions (the
      // tape rejects them on every backend): differentiate those only for equal shapes
      const grad = !noBroadcastGrad.has(op) || a.join(',') === b.join(',');
      it(`${op} ${name}`, () =>
        checkOp({
          name: `${op} ${name}`,
          shapes: {
            a: { shape: a, grad },
            b: op === 'RealDiv' ? { ...positive(b, 3), grad } : { shape: b, grad },
          },
          native: (x) => fn(x.a, x.b),
        }));
    }
  }

  it('NaN propagates through Maximum/Minimum like Math.max/Math.min', () =>
    checkOp({
      name: 'Maximum/Minimum NaN',
      shapes: {
        a: { shape: [4], values: [Number.NaN, 1, -2, Number.NaN], grad: false },
        b: { shape: [4], values: [0, Number.NaN, 3, Number.NaN], grad: false },
      },
      native: (x) => [tf.maximum(x.a, x.b), tf.minimum(x.a, x.b)],
    }));

  it('seeded random broadcast shapes (rank <= 5)', async () => {
    const rng = makeRng(11);
    for (let c = 0; c < 16; c++) {
      const rank = rng.int(0, 5);
      const out = Array.from({ length: rank }, () => rng.int(1, 4));
      const drop = (s: number[]) => s.map((d) => (rng.uniform() < 0.35 ? 1 : d)).slice(rng.int(0, s.length));
      const [op, fn] = binaryOps[c % binaryOps.length];
      const a = drop(out);
      const b = drop(out);
      const grad = !noBroadcastGrad.has(op) || a.join(',') === b.join(',');
      await checkOp({
        name: `${op} random #${c}`,
        shapes: {
          a: { shape: a, grad },
          b: op === 'RealDiv' ? { ...positive(b, c), grad } : { shape: b, grad },
        },
        native: (x) => fn(x.a, x.b),
        seed: c,
      });
    }
  });

  it('int32 and bool inputs delegate to tfjs-cpu', () =>
    checkOp({
      name: 'int32 binary',
      shapes: {
        a: { shape: [2, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6] },
        b: { shape: [3], dtype: 'int32', values: [3, -1, 2] },
      },
      native: (x) => [
        tf.add(x.a, x.b),
        tf.sub(x.a, x.b),
        tf.mul(x.a, x.b),
        tf.maximum(x.a, x.b),
        tf.minimum(x.a, x.b),
      ],
    }));
});

describe.skipIf(!native)('unary kernels (native vs tfjs-cpu)', () => {
  const ops: [string, (x: tf.Tensor) => tf.Tensor, boolean][] = [
    ['Exp', tf.exp, false],
    ['Log', tf.log, true],
    ['Neg', tf.neg, false],
    ['Sqrt', tf.sqrt, true],
    ['Rsqrt', tf.rsqrt, true],
    ['Square', tf.square, false],
    ['Tanh', tf.tanh, false],
    ['Sigmoid', tf.sigmoid, false],
    ['Relu', tf.relu, false],
    ['Erf', tf.erf, false],
    ['Abs', tf.abs, false],
  ];
  for (const [op, fn, pos] of ops) {
    for (const shape of [[3, 5], [0, 4], [1], [70000]]) {
      it(`${op} [${shape}]`, () =>
        checkOp({
          name: `${op} [${shape}]`,
          shapes: { x: pos ? positive(shape, 5) : shape },
          native: (x) => fn(x.x),
          // tfjs's Erf is a 1.5e-7 approximation, the native one is libm's
          atol: 2e-6,
          rtol: 2e-6,
        }));
    }
  }
  it('int32 inputs delegate to tfjs-cpu', () =>
    checkOp({
      name: 'int32 unary',
      shapes: { x: { shape: [4], dtype: 'int32', values: [-2, 0, 3, 7] } },
      native: (x) => [tf.neg(x.x), tf.abs(x.x), tf.relu(x.x), tf.square(x.x)],
    }));
});

describe.skipIf(!native)('Softmax over the last axis (native vs tfjs-cpu)', () => {
  for (const shape of [[3, 5], [1, 1], [7], [2, 3, 33], [0, 4], [64, 512]]) {
    it(`softmax [${shape}] forward and gradient`, () =>
      checkOp({
        name: `Softmax [${shape}]`,
        shapes: { x: shape },
        native: (x) => tf.softmax(x.x),
        atol: 1e-6,
      }));
  }

  it('-Infinity entries get exactly 0; a row of -Infinity gives NaN like tfjs', () => {
    const logits = [1, 2, 3, Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY];
    const rows = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const y = tf.tidy(() => Array.from(tf.softmax(tf.tensor2d([...logits, ...rows], [3, 3])).dataSync()));
    // hand-computed: softmax([1,2,3]) = e^(k-3) / (e^-2 + e^-1 + 1) = [0.0900306, 0.2447285, 0.6652410]
    expect(y[0]).toBeCloseTo(0.0900306, 6);
    expect(y[1]).toBeCloseTo(0.2447285, 6);
    expect(y[2]).toBeCloseTo(0.665241, 6);
    expect(y.slice(3, 6)).toEqual([0, 1, 0]);
    expect(y.slice(6).every((v) => Number.isNaN(v))).toBe(true);
  });

  it('int32 and a non-last axis delegate to tfjs-cpu', () =>
    checkOp({
      name: 'Softmax axis 0',
      shapes: { x: [4, 3] },
      native: (x) => tf.softmax(tf.transpose(x.x)),
    }));
});

describe.skipIf(!native)("Slice and PadV2 (native vs tfjs-cpu; each is the other's gradient)", () => {
  const slices: [string, number[], number[], number[]][] = [
    ['last token of [64,16,64]', [64, 16, 64], [0, 15, 0], [-1, 1, -1]],
    ['inner box rank 3', [4, 5, 6], [1, 2, 3], [2, 2, 3]],
    ['rank 1', [10], [3], [4]],
    ['rank 6', [2, 3, 2, 3, 2, 3], [1, 0, 1, 1, 0, 1], [1, 2, 1, 2, 2, 2]],
    ['empty box', [3, 4], [1, 0], [0, 4]],
    ['whole tensor', [3, 4], [0, 0], [3, 4]],
    ['large rows (threaded)', [256, 300], [10, 7], [200, 290]],
  ];
  for (const [name, shape, begin, size] of slices) {
    it(`slice ${name}`, () =>
      checkOp({ name: `Slice ${name}`, shapes: { x: shape }, native: (x) => tf.slice(x.x, begin, size) }));
  }
  const pads: [string, number[], [number, number][], number][] = [
    [
      '[3,4] by 1,2 / 0,3',
      [3, 4],
      [
        [1, 2],
        [0, 3],
      ],
      0,
    ],
    [
      'constant -1.5',
      [2, 3, 4],
      [
        [0, 1],
        [2, 0],
        [1, 1],
      ],
      -1.5,
    ],
    [
      'rank 5',
      [2, 1, 3, 1, 2],
      [
        [1, 0],
        [0, 2],
        [1, 1],
        [0, 0],
        [2, 1],
      ],
      0.25,
    ],
    ['no padding', [5], [[0, 0]], 0],
  ];
  for (const [name, shape, paddings, value] of pads) {
    it(`pad ${name}`, () =>
      checkOp({ name: `PadV2 ${name}`, shapes: { x: shape }, native: (x) => tf.pad(x.x, paddings, value) }));
  }
  it('split along the last and a middle axis (SplitV; its gradient is Concat)', () =>
    checkOp({
      name: 'SplitV',
      shapes: { x: [4, 6, 9] },
      native: (x) => [...tf.split(x.x, 3, -1), ...tf.split(x.x, [1, 3, 2], 1)],
    }));
  it('concat along axes 0, 1 and 2 with unequal parts (Concat; its gradient is Slice)', () =>
    checkOp({
      name: 'Concat',
      shapes: { a: [2, 3, 4], b: [2, 3, 4], c: [2, 5, 4], d: [2, 3, 1], e: [1, 3, 4] },
      native: (x) => [tf.concat([x.a, x.b, x.e], 0), tf.concat([x.a, x.c], 1), tf.concat([x.a, x.d, x.b], 2)],
    }));
  it('gather gradient (UnsortedSegmentSum) with repeated and unused rows', () =>
    checkOp({
      name: 'UnsortedSegmentSum',
      shapes: { table: [7, 5] },
      native: (x) => tf.gather(x.table, tf.tensor1d([0, 3, 3, 6, 0, 3], 'int32')),
    }));
  /** Tiling as repeated concatenation along each axis: an independent composite (its gradient is Concat's). */
  const tileByConcat = (x: tf.Tensor, reps: number[]): tf.Tensor =>
    reps.reduce(
      (t, r, axis) =>
        r === 1
          ? t
          : tf.concat(
              Array.from({ length: r }, () => t),
              axis,
            ),
      x,
    );
  const tiles: [string, number[], number[]][] = [
    ['ViT class token [1,1,16] × [32,1,1]', [1, 1, 16], [32, 1, 1]],
    ['perceiver latents [1,4,24] × [6,1,1]', [1, 4, 24], [6, 1, 1]],
    ['two axes [2,3] × [2,3]', [2, 3], [2, 3]],
    ['rank 1', [5], [4]],
    ['rank 5, inner runs of 1 and 2 floats', [3, 1, 2, 1, 2], [1, 2, 1, 3, 2]],
    ['no repetition', [2, 3], [1, 1]],
  ];
  for (const [name, shape, reps] of tiles) {
    it(`tile ${name} (Tile and its reshape + sum gradient vs concatenation)`, () =>
      checkOp({
        name: `Tile ${name}`,
        shapes: { x: shape },
        native: (x) => tf.tile(x.x, reps),
        reference: (x) => tileByConcat(x.x, reps),
      }));
  }
  it('the Tile gradient sums a short view of dy (size-1 entries dropped, neighbours merged)', () => {
    expect(tileGradView([1, 1, 10, 128], [8, 2, 1, 1])).toEqual({ view: [16, 1280], axes: [0] });
    expect(tileGradView([2, 3], [2, 3])).toEqual({ view: [2, 2, 3, 3], axes: [0, 2] });
    expect(tileGradView([3, 4], [2, 1])).toEqual({ view: [2, 12], axes: [0] });
    expect(tileGradView([5], [1])).toEqual({ view: [5], axes: [] });
  });
  it('gather along axes 0 and 1 with 2-D and repeated indices (GatherV2 vs tfjs-cpu)', () =>
    checkOp({
      name: 'GatherV2',
      shapes: { table: [7, 5], x: [3, 7, 4] },
      native: (x) => [
        tf.gather(x.table, tf.tensor2d([0, 3, 6, 1], [2, 2], 'int32')),
        tf.gather(x.x, tf.tensor1d([6, 0, 6], 'int32'), 1),
        tf.gather(x.x, tf.tensor1d([2], 'int32'), -1),
      ],
    }));
  it('gather refuses an index outside the axis, naming the kernel', async () => {
    await selectBackend('native');
    const t = tf.zeros([3, 2]);
    const i = tf.tensor1d([1, 3], 'int32');
    expect(() => tf.gather(t, i)).toThrow(/GatherV2: index 3 at position 1 is outside \[0, 2\]/);
    tf.dispose([t, i]);
  });
  it('int32 slices and pads delegate to tfjs-cpu', () =>
    checkOp({
      name: 'int32 slice/pad',
      shapes: { x: { shape: [2, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6], grad: false } },
      native: (x) => [
        tf.slice(x.x, [0, 1], [2, 2]),
        tf.pad(
          x.x,
          [
            [1, 0],
            [0, 1],
          ],
          7,
        ),
      ],
    }));
});

describe.skipIf(!native)('Sum / Mean / Max over any axes (native vs tfjs-cpu)', () => {
  const reductions: [
    string,
    (x: tf.Tensor, axis: number | number[] | undefined, keep: boolean) => tf.Tensor,
  ][] = [
    ['Sum', (x, a, k) => tf.sum(x, a, k)],
    ['Mean', (x, a, k) => tf.mean(x, a, k)],
    ['Max', (x, a, k) => tf.max(x, a, k)],
  ];
  const cases: [number[], number | number[] | undefined][] = [
    [[2, 3, 4], 0],
    [[2, 3, 4], 1],
    [[2, 3, 4], 2],
    [[2, 3, 4], -1],
    [
      [2, 3, 4],
      [0, 2],
    ],
    [
      [2, 3, 4],
      [2, 0],
    ],
    [
      [2, 3, 4],
      [0, 1],
    ],
    [
      [2, 3, 4],
      [1, 2],
    ],
    [[2, 3, 4], undefined],
    [[2, 3, 4], []],
    [[5], 0],
    [
      [1, 4, 1, 3],
      [0, 2],
    ],
    [
      [2, 1, 3, 2, 2, 3],
      [1, 3, 5],
    ],
    [
      [2, 3, 2, 2, 3, 2],
      [0, 2, 4],
    ],
    [[512, 256], 0],
    [[512, 256], 1],
    [
      [8, 64, 256],
      [0, 1],
    ],
    [
      [64, 2, 512],
      [0, 2],
    ],
  ];
  for (const [op, fn] of reductions) {
    for (const [shape, axis] of cases) {
      for (const keep of [false, true]) {
        it(`${op} [${shape}] axis ${JSON.stringify(axis)} keepDims=${keep}`, () =>
          checkOp({
            name: `${op} [${shape}] axis ${JSON.stringify(axis)}`,
            shapes: { x: shape },
            native: (x) => fn(x.x, axis, keep),
            atol: 1e-4,
            rtol: 1e-4,
          }));
      }
    }
  }
  it('Sum over a size-0 axis gives zeros; Mean/Max of empty inputs delegate', () =>
    checkOp({
      name: 'empty reductions',
      shapes: { x: { shape: [3, 0], grad: false } },
      native: (x) => [tf.sum(x.x, 1), tf.sum(x.x, 0), tf.mean(x.x, 0), tf.max(x.x, 0)],
    }));
  it('Max propagates NaN', () =>
    checkOp({
      name: 'Max NaN',
      shapes: { x: { shape: [2, 3], values: [1, Number.NaN, 3, 4, 5, 6], grad: false } },
      native: (x) => [tf.max(x.x, 1), tf.max(x.x, 0)],
    }));
  it('int32 / bool inputs delegate to tfjs-cpu', () =>
    checkOp({
      name: 'int32 reductions',
      shapes: { x: { shape: [2, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6] } },
      native: (x) => [tf.sum(x.x, 0), tf.max(x.x, 1), tf.mean(x.x), tf.sum(tf.cast(x.x, 'bool'), 1)],
    }));
});

describe.skipIf(!native)('Transpose (native vs tfjs-cpu)', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 5],
      [1, 0],
    ],
    [
      [300, 500],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [2, 1, 0],
    ],
    [
      [2, 3, 4],
      [1, 0, 2],
    ],
    [
      [2, 3, 4],
      [0, 1, 2],
    ],
    [
      [8, 64, 8, 32],
      [0, 2, 1, 3],
    ],
    [
      [8, 8, 64, 32],
      [0, 2, 3, 1],
    ],
    [
      [2, 1, 3, 1, 4],
      [4, 3, 2, 1, 0],
    ],
    [
      [2, 3, 2, 4, 1, 3],
      [5, 0, 3, 1, 4, 2],
    ],
    [
      [1, 7, 1],
      [2, 1, 0],
    ],
    [
      [0, 3, 2],
      [2, 0, 1],
    ],
    [
      [37, 1, 45],
      [2, 1, 0],
    ],
  ];
  for (const [shape, perm] of cases) {
    it(`[${shape}] perm [${perm}]`, () =>
      checkOp({
        name: `Transpose [${shape}] perm [${perm}]`,
        shapes: { x: shape },
        native: (x) => tf.transpose(x.x, perm),
        atol: 0,
        rtol: 0,
      }));
  }
  it('int32 delegates to tfjs-cpu', () =>
    checkOp({
      name: 'Transpose int32',
      shapes: { x: { shape: [2, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6] } },
      native: (x) => tf.transpose(x.x),
    }));
});

describe.skipIf(!native)('layerNorm and gelu (native kernels vs composite references)', () => {
  const lnCases: [string, number[], boolean, boolean, number][] = [
    ['[4,8] affine', [4, 8], true, true, 1e-5],
    ['[2,3,16] gamma only', [2, 3, 16], true, false, 1e-5],
    ['[2,3,16] beta only', [2, 3, 16], false, true, 1e-6],
    ['[5,7] no affine, eps 0.1', [5, 7], false, false, 0.1],
    ['[1,1] single element', [1, 1], true, true, 1e-5],
    ['[0,6] no rows', [0, 6], true, true, 1e-5],
    ['[9] rank 1', [9], true, true, 1e-5],
    ['[8,64,256] transformer size (threaded)', [8, 64, 256], true, true, 1e-5],
  ];
  for (const [name, shape, hasG, hasB, eps] of lnCases) {
    const dim = shape[shape.length - 1];
    it(`layerNorm ${name}`, () =>
      checkOp({
        name: `layerNorm ${name}`,
        shapes: {
          x: { shape, std: 2 },
          ...(hasG ? { gamma: { shape: [dim] } } : {}),
          ...(hasB ? { beta: { shape: [dim] } } : {}),
        },
        native: (x) => layerNorm(x.x, x.gamma, x.beta, { eps }),
        reference: (x) => layerNormReference(x.x, x.gamma, x.beta, { eps }),
        gradAtol: 2e-3,
        gradRtol: 2e-3,
      }));
  }
  it('layerNorm with a large offset (two-pass variance)', () => {
    const rng = makeRng(2);
    return checkOp({
      name: 'layerNorm offset 1000',
      shapes: { x: { shape: [3, 32], values: Float32Array.from({ length: 96 }, () => 1000 + rng.normal()) } },
      native: (x) => layerNorm(x.x),
      reference: (x) => layerNormReference(x.x),
      atol: 2e-3,
      rtol: 2e-3,
      gradAtol: 5e-2,
      gradRtol: 5e-2,
    });
  });
  for (const approximate of ['none', 'tanh'] as const) {
    for (const shape of [[3, 5], [0], [1], [8, 64, 1024]]) {
      it(`gelu approximate=${approximate} [${shape}]`, () =>
        checkOp({
          name: `gelu ${approximate} [${shape}]`,
          shapes: { x: { shape, std: 3 } },
          native: (x) => gelu(x.x, { approximate }),
          reference: (x) => geluReference(x.x, { approximate }),
          atol: 2e-6,
          rtol: 1e-5,
        }));
    }
  }
});

describe.each(native ? (['native', 'cpu'] as const) : (['cpu'] as const))(
  'layerNorm / gelu against finite differences on %s',
  (backend) => {
    let previous = '';
    beforeAll(async () => {
      previous = tf.getBackend();
      await selectBackend(backend);
    });
    afterAll(async () => {
      await tf.setBackend(previous);
    });
    const expectClose = (
      name: string,
      a: ArrayLike<number>,
      e: ArrayLike<number>,
      atol: number,
      rtol: number,
    ) => {
      const c = compareArrays(a, e, atol, rtol);
      expect(c.ok, `${name}: index ${c.index} got ${c.actual}, finite differences ${c.expected}`).toBe(true);
    };

    it('layerNorm d/dx, d/dgamma, d/dbeta', () => {
      const [rows, dim, eps] = [3, 5, 1e-5];
      const rng = makeRng(8);
      const x = rng.normals(rows * dim, 1.5);
      const g = rng.normals(dim);
      const b = rng.normals(dim);
      const cot = rng.normals(rows * dim);
      const ln64 = (xs: ArrayLike<number>, gs: ArrayLike<number>, bs: ArrayLike<number>) => {
        const y = new Float64Array(rows * dim);
        for (let r = 0; r < rows; r++) {
          let m = 0;
          for (let j = 0; j < dim; j++) m += xs[r * dim + j];
          m /= dim;
          let v = 0;
          for (let j = 0; j < dim; j++) v += (xs[r * dim + j] - m) ** 2;
          const rs = 1 / Math.sqrt(v / dim + eps);
          for (let j = 0; j < dim; j++) y[r * dim + j] = (xs[r * dim + j] - m) * rs * gs[j] + bs[j];
        }
        return y;
      };
      const fdX = numericGrad((v) => dot64(ln64(v, g, b), cot), x);
      const fdG = numericGrad((v) => dot64(ln64(x, v, b), cot), g);
      const fdB = numericGrad((v) => dot64(ln64(x, g, v), cot), b);
      const got = tf.tidy(() => {
        const c = tf.tensor(cot, [rows, dim]);
        const f = (xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) =>
          tf.sum(tf.mul(layerNorm(xt, gt, bt, { eps }), c));
        return tf
          .grads(f)([tf.tensor(x, [rows, dim]), tf.tensor(g), tf.tensor(b)])
          .map((t) => t.dataSync().slice());
      });
      expectClose('d/dx', got[0], fdX, 2e-3, 2e-3);
      expectClose('d/dgamma', got[1], fdG, 2e-3, 2e-3);
      expectClose('d/dbeta', got[2], fdB, 2e-3, 2e-3);
    });

    for (const approximate of ['none', 'tanh'] as const) {
      it(`gelu approximate=${approximate} d/dx`, () => {
        const rng = makeRng(9);
        const x = rng.normals(12, 2.5);
        const cot = rng.normals(12);
        const gelu64 = (v: number) =>
          approximate === 'tanh'
            ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
            : 0.5 * v * (1 + erf64(v / Math.SQRT2));
        const fd = numericGrad((v) => dot64(Array.from(v, gelu64), cot), x);
        const got = tf.tidy(() =>
          tf
            .grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t, { approximate }), tf.tensor(cot))))(tf.tensor(x))
            .dataSync()
            .slice(),
        );
        expectClose(`gelu ${approximate}`, got, fd, 1e-3, 1e-3);
      });
    }
  },
);

/** erf in float64 via Numerical Recipes' erfc approximation (|relative error| < 1.2e-7: ample for a 1e-3 check). */
function erf64(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

describe.skipIf(!native)('determinism, errors and hygiene', () => {
  it('tiny tensors stay in the JS loop under the default cutoff; larger ones call the addon', () => {
    const addon = loadAddon();
    const spy = vi.spyOn(addon, 'binaryRun');
    const previous = setSmallElementwiseCutoff(cutoff);
    try {
      tf.tidy(() => tf.add(tf.ones([4]), tf.ones([4])).dataSync());
      expect(spy).not.toHaveBeenCalled();
      const big = tf.tidy(() => Array.from(tf.add(tf.ones([cutoff + 1]), tf.ones([cutoff + 1])).dataSync()));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(big.every((v) => v === 2)).toBe(true);
    } finally {
      setSmallElementwiseCutoff(previous);
      spy.mockRestore();
    }
  });

  it('results do not depend on the thread count', () => {
    const run = () =>
      tf.tidy(() => {
        const rng = makeRng(4); // the same inputs every run
        const x = tf.tensor(rng.normals(8 * 64 * 256), [8, 64, 256]);
        const g = tf.tensor(rng.normals(256));
        const b = tf.tensor(rng.normals(256));
        const c = tf.tensor(rng.normals(8 * 64 * 256), [8, 64, 256]);
        const f = (xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) =>
          tf.sum(
            tf.mul(gelu(tf.add(layerNorm(xt, gt, bt), tf.transpose(xt, [1, 0, 2]).reshape([8, 64, 256]))), c),
          );
        const gs = tf.grads(f)([x, g, b]);
        return [...gs.map((t) => t.dataSync().slice()), tf.sum(x, [0, 1]).dataSync().slice()];
      });
    const before = loadAddon().features().threads;
    try {
      setThreads(1);
      const one = run();
      setThreads(2);
      const two = run();
      setThreads(3);
      const three = run();
      const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let n = 0;
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
        return n;
      };
      for (let i = 0; i < one.length; i++) {
        expect(differing(two[i], one[i]), `output ${i}, 2 threads vs 1`).toBe(0);
        expect(differing(three[i], one[i]), `output ${i}, 3 threads vs 1`).toBe(0);
      }
    } finally {
      setThreads(before);
    }
  });

  it('incompatible shapes into a binary kernel throw naming the kernel and the shapes', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([4]);
    try {
      expect(() => tf.engine().runKernel('Multiply', { a, b })).toThrow(/Multiply: shapes \[2,3\] and \[4\]/);
      expect(() => tf.engine().runKernel('Add', { a, b })).toThrow(/Add: shapes \[2,3\] and \[4\]/);
      expect(() => tf.engine().runKernel('Transpose', { x: a }, { perm: [0] })).toThrow(
        /Transpose: perm \[0\]/,
      );
    } finally {
      tf.dispose([a, b]);
    }
  });

  it('the addon validates lengths and shapes, naming the function', () => {
    const addon = loadAddon();
    const f = (n: number) => new Float32Array(n);
    expect(() => addon.binaryRun(BinaryOp.mul, f(6), [2, 3], f(4), [4], f(6))).toThrow(
      /binaryRun\(mul\): shapes \[2,3\] and \[4\] are not broadcast-compatible/,
    );
    expect(() => addon.binaryRun(BinaryOp.add, f(5), [2, 3], f(3), [3], f(6))).toThrow(
      /binaryRun\(add\): a has 5 floats, expected prod\(aShape\) = 6/,
    );
    expect(() => addon.reduceRun(0, f(6), [2, 3], [2], f(2))).toThrow(/reduceRun\(sum\): axes\[0\]=2/);
    expect(() => addon.transposeRun(f(6), [2, 3], [0, 0], f(6))).toThrow(/transposeRun: perm\[1\]=0/);
    expect(() => addon.unaryRun(0, f(3), f(4))).toThrow(/unaryRun\(exp\): out has 4 floats/);
    expect(() => addon.layerNormForward(2, 3, 1e-5, f(6), f(2), null, f(6), f(2), f(2))).toThrow(
      /layerNormForward: gamma has 2 floats, expected dim = 3 \(rows=2, dim=3\)/,
    );
    expect(() => addon.geluBackward(false, f(3), f(2), f(3))).toThrow(/geluBackward: dy has 2 floats/);
    expect(() => addon.binaryRun(BinaryOp.add, f(1), [1, 1, 1, 1, 1, 1, 1], f(1), [1], f(1))).toThrow(
      /binaryRun\(add\): aShape has rank 7/,
    );
  });

  it('layerNorm / gelu reject bad arguments naming the op', () => {
    const x = tf.zeros([2, 4]);
    const g = tf.zeros([3]);
    const xi = tf.zeros([2, 4], 'int32');
    try {
      expect(() => layerNorm(x, g)).toThrow(
        /layerNorm: gamma must be float32 \[4\] to match x \[2,4\] \(got \[3\]/,
      );
      expect(() => layerNorm(xi)).toThrow(/layerNorm: x must be float32.*\[2,4\] int32/);
      expect(() => gelu(xi)).toThrow(/gelu: x must be float32/);
      expect(() => gelu(x, { approximate: 'fast' as 'tanh' })).toThrow(/gelu: approximate must be/);
    } finally {
      tf.dispose([x, g, xi]);
    }
  });

  it('layerNorm / gelu forward + backward leave the tensor count flat', () => {
    const step = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([3, 4, 8]);
        const g = tf.randomNormal([8]);
        const b = tf.randomNormal([8]);
        tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(gelu(layerNorm(a, c, d))))([x, g, b]);
        tf.grad((a: tf.Tensor) => tf.sum(layerNorm(a, g)))(x); // beta absent, gamma not differentiated
        tf.grad((a: tf.Tensor) => tf.sum(gelu(a, { approximate: 'tanh' })))(x);
      });
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(n);
  });
});
