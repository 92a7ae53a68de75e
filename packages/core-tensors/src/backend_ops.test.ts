/**
 * Backend-ops suite: every native kernel against its composite / tfjs-cpu reference (forward and
 * gradients) through the one oracle, `checkOp`, over fixed edge cases and seeded random shapes.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'vitest';
import { attentionBias } from './ops/attention_bias.js';
import { composeResidual } from './ops/compose_residual.js';
import { composeResidualReference } from './ops/compose_residual_reference.js';
import type { ComposeOptions } from './ops/compose_types.js';
import { fusedAttention } from './ops/fused_attention.js';
import { type FusedAttentionOptions, fusedAttentionReference } from './ops/fused_attention_reference.js';
import { checkOp, type InputSpec } from './test-utils/check_op.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

const native = nativeAvailable();

/**
 * numpy-semantics matmul from tf ops: broadcast both batch shapes explicitly, then a same-batch matmul
 * (tfjs-cpu's BatchMatMul indexes broadcast batches as `bi % batchSize`, which is wrong when both
 * operands broadcast, e.g. [2,1]x[4]; BroadcastTo's gradient sums back to each input's shape).
 */
function matMulReference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const a2 = tf.broadcastTo(a, [...batch, ...a.shape.slice(-2)]); // [...aBatch, r, c] -> [...batch, r, c]
  const b2 = tf.broadcastTo(b, [...batch, ...b.shape.slice(-2)]); // [...bBatch, r, c] -> [...batch, r, c]
  return tf.matMul(a2, b2, ta, tb);
}

describe.skipIf(!native)('BatchMatMul (native vs tfjs-cpu)', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D', [3, 5], [5, 7], false, false],
    ['1x1', [1, 1], [1, 1], false, false],
    ['odd sizes', [17, 33], [33, 9], false, false],
    ['transposeA', [5, 3], [5, 7], true, false],
    ['transposeB', [3, 5], [7, 5], false, true],
    ['both transposed', [5, 3], [7, 5], true, true],
    ['broadcast [2,1,3,5]x[4,5,7]', [2, 1, 3, 5], [4, 5, 7], false, false],
    ['broadcast transposed [2,1,5,3]^T x [4,7,5]^T', [2, 1, 5, 3], [4, 7, 5], true, true],
    ['linear layer [B,T,D]x[D,E] (tfjs#8721)', [2, 3, 4], [4, 6], false, false],
    ['linear layer, weight transposed [B,T,D]x[E,D]^T', [2, 3, 4], [6, 4], false, true],
    ['[m,k] x [B,k,n]', [3, 5], [2, 5, 4], false, false],
    ['batch 1 both', [1, 4, 4], [1, 4, 4], false, false],
    ['both broadcast [2,1,3,4]x[1,3,4,2]', [2, 1, 3, 4], [1, 3, 4, 2], false, false],
  ];
  for (const [name, a, b, ta, tb] of cases) {
    it(name, () =>
      checkOp({
        name: `BatchMatMul ${name}`,
        shapes: { a, b },
        native: (x) => tf.matMul(x.a, x.b, ta, tb),
        reference: (x) => matMulReference(x.a, x.b, ta, tb),
      }),
    );
  }

  it('seeded random shapes with broadcast batch dims', async () => {
    const rng = makeRng(7);
    for (let c = 0; c < 12; c++) {
      const batch = Array.from({ length: rng.int(0, 2) }, () => rng.int(1, 3));
      const aBatch = batch.map((d) => (rng.uniform() < 0.3 ? 1 : d)).slice(rng.int(0, batch.length));
      const bBatch = batch.map((d) => (rng.uniform() < 0.3 ? 1 : d));
      const [m, n, k] = [rng.int(1, 9), rng.int(1, 9), rng.int(1, 9)];
      const ta = rng.uniform() < 0.5;
      const tb = rng.uniform() < 0.5;
      await checkOp({
        name: `BatchMatMul random #${c} ta=${ta} tb=${tb}`,
        shapes: { a: [...aBatch, ...(ta ? [k, m] : [m, k])], b: [...bBatch, ...(tb ? [n, k] : [k, n])] },
        native: (x) => tf.matMul(x.a, x.b, ta, tb),
        reference: (x) => matMulReference(x.a, x.b, ta, tb),
        seed: c,
      });
    }
  });

  it('rank 5, both operands broadcast (forward; tfjs has no rank-5 tile gradient for the reference)', () =>
    checkOp({
      name: 'BatchMatMul rank 5',
      shapes: { a: { shape: [2, 1, 2, 3, 4], grad: false }, b: { shape: [3, 1, 4, 2], grad: false } },
      native: (x) => tf.matMul(x.a, x.b),
      reference: (x) => matMulReference(x.a, x.b, false, false),
    }));

  it('int32 delegates to the tfjs-cpu kernel', () =>
    checkOp({
      name: 'BatchMatMul int32',
      shapes: {
        a: { shape: [2, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6] },
        b: { shape: [3, 2], dtype: 'int32', values: [1, 0, 0, 1, 2, 2] },
      },
      native: (x) => tf.matMul(x.a, x.b),
    }));
});

describe.skipIf(!native)('_FusedMatMul (native vs tfjs-cpu)', () => {
  // Gradients use a 2-D `a`: tf.fused.matMul's own customGrad has the tfjs#8721 bug for a batched `a`
  // with a 2-D `b` (it returns a [B,k,n] gradient for b), which no kernel registry fix can reach.
  const activations = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'] as const;
  for (const activation of activations) {
    for (const biasShape of [undefined, [7], [6, 7]]) {
      it(`${activation}, bias ${biasShape ? `[${biasShape}]` : 'none'}`, () =>
        checkOp({
          name: `_FusedMatMul ${activation}`,
          shapes: {
            a: { shape: [6, 5], std: 2 },
            b: { shape: [5, 7], std: 2 },
            ...(biasShape ? { bias: biasShape } : {}),
            ...(activation === 'prelu' ? { alpha: [7] } : {}),
          },
          native: (x) =>
            tf.fused.matMul({
              a: x.a,
              b: x.b,
              bias: x.bias,
              activation,
              preluActivationWeights: x.alpha,
              leakyreluAlpha: 0.3,
            }),
        }));
    }
  }
  it('batched a [2,3,5] x b [5,7] with bias and elu (forward)', () =>
    checkOp({
      name: '_FusedMatMul batched',
      shapes: {
        a: { shape: [2, 3, 5], grad: false },
        b: { shape: [5, 7], grad: false },
        bias: { shape: [7], grad: false },
      },
      native: (x) => tf.fused.matMul({ a: x.a, b: x.b, bias: x.bias, activation: 'elu' }),
    }));
  it('transposed operands with bias and relu', () =>
    checkOp({
      name: '_FusedMatMul transposed',
      shapes: { a: [6, 3], b: [5, 6], bias: [5] },
      native: (x) =>
        tf.fused.matMul({
          a: x.a,
          b: x.b,
          bias: x.bias,
          activation: 'relu',
          transposeA: true,
          transposeB: true,
        }),
    }));
});

interface AttnCase {
  name: string;
  q: number[];
  kLen?: number;
  opts?: Omit<FusedAttentionOptions, 'keyPaddingMask' | 'bias'>;
  mask?: InputSpec;
  bias?: InputSpec;
}

function attnCheck(c: AttnCase, seed = 1) {
  const [B, H, Tq, D] = c.q;
  const Tk = c.kLen ?? Tq;
  const shapes: Record<string, number[] | InputSpec> = { q: c.q, k: [B, H, Tk, D], v: [B, H, Tk, D] };
  if (c.mask) shapes.mask = c.mask;
  if (c.bias) shapes.bias = c.bias;
  const opts = (x: Record<string, tf.Tensor>): FusedAttentionOptions => ({
    ...c.opts,
    keyPaddingMask: x.mask,
    bias: x.bias,
  });
  return checkOp({
    name: `fusedAttention ${c.name}`,
    shapes,
    native: (x) => fusedAttention(x.q as tf.Tensor4D, x.k as tf.Tensor4D, x.v as tf.Tensor4D, opts(x)),
    reference: (x) =>
      fusedAttentionReference(x.q as tf.Tensor4D, x.k as tf.Tensor4D, x.v as tf.Tensor4D, opts(x)),
    atol: 2e-5,
    rtol: 1e-4,
    gradAtol: 2e-4,
    gradRtol: 2e-3,
    seed,
  });
}

/** bias values with -Infinity at every `every`-th entry. */
function biasWithNegInf(shape: number[], every: number, seed: number): InputSpec {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, (_, i) =>
    i % every === every - 1 ? -Infinity : rng.normal(),
  );
  return { shape, values };
}

describe.skipIf(!native)('fusedAttention (native kernel vs composite reference)', () => {
  const cases: AttnCase[] = [
    { name: 'plain self-attention', q: [2, 3, 5, 8] },
    { name: 'causal', q: [1, 2, 7, 4], opts: { causal: true } },
    { name: 'cross attention Tq < Tk', q: [2, 2, 3, 6], kLen: 9 },
    { name: 'causal cross Tq < Tk (top-left)', q: [1, 2, 3, 4], kLen: 8, opts: { causal: true } },
    { name: 'causal cross Tq > Tk (top-left)', q: [1, 2, 8, 4], kLen: 3, opts: { causal: true } },
    { name: 'T = 1', q: [2, 1, 1, 4] },
    { name: 'D = 1', q: [2, 2, 5, 1], opts: { causal: true } },
    { name: 'D = 256', q: [1, 1, 4, 256], opts: { causal: true } },
    { name: 'custom scale', q: [1, 2, 5, 8], opts: { scale: 0.7 } },
    {
      name: 'key padding (bool), one batch fully padded',
      q: [2, 2, 4, 4],
      kLen: 5,
      mask: { shape: [2, 5], dtype: 'bool', values: [0, 1, 0, 0, 1, 1, 1, 1, 1, 1] },
    },
    {
      name: 'key padding (int32) + causal',
      q: [2, 1, 5, 3],
      mask: { shape: [2, 5], dtype: 'int32', values: [1, 0, 0, 0, 0, 0, 0, 0, 1, 1] },
      opts: { causal: true },
    },
    {
      name: 'key padding (float32 numeric)',
      q: [2, 1, 3, 4],
      mask: { shape: [2, 3], dtype: 'float32', values: [0, 2.5, 0, 0, 0, -1], grad: false },
    },
    { name: 'bias [Tq,Tk] rank 2', q: [2, 2, 4, 4], kLen: 6, bias: { shape: [4, 6] } },
    { name: 'bias [H,1,Tk] rank 3', q: [2, 3, 4, 4], bias: { shape: [3, 1, 4] } },
    { name: 'bias [B,1,Tq,Tk] rank 4', q: [2, 3, 4, 4], kLen: 5, bias: { shape: [2, 1, 4, 5] } },
    { name: 'bias [1,H,Tq,1] rank 4', q: [2, 3, 4, 4], bias: { shape: [1, 3, 4, 1] } },
    { name: 'bias full [B,H,Tq,Tk]', q: [2, 2, 3, 4], kLen: 5, bias: { shape: [2, 2, 3, 5] } },
    { name: 'bias [Tk] rank 1', q: [1, 2, 3, 4], kLen: 5, bias: { shape: [5] } },
    { name: 'bias [Tq,Tk] with -Infinity', q: [2, 2, 5, 4], bias: biasWithNegInf([5, 5], 3, 11) },
    {
      name: 'bias [B,H,Tq,Tk] with -Infinity + causal',
      q: [2, 2, 4, 4],
      bias: biasWithNegInf([2, 2, 4, 4], 4, 12),
      opts: { causal: true },
    },
    {
      name: 'fully masked rows via -Infinity bias row',
      q: [1, 2, 3, 4],
      kLen: 4,
      bias: {
        shape: [3, 4],
        values: [0, 0, 0, 0, -Infinity, -Infinity, -Infinity, -Infinity, 0.5, -Infinity, 0, 1],
      },
    },
    {
      name: 'causal + padding + bias, rows fully masked',
      q: [2, 2, 4, 4],
      mask: { shape: [2, 4], dtype: 'bool', values: [1, 0, 0, 0, 0, 0, 1, 1] },
      bias: { shape: [1, 2, 4, 4] },
      opts: { causal: true },
    },
  ];
  for (const c of cases) it(c.name, () => attnCheck(c));

  it('GR-1 hidden query tokens (attentionBias.hideQueryTokens)', async () => {
    const isQuery = [false, false, true, false, false, true, true];
    const bias = attentionBias.hideQueryTokens(isQuery, { causal: true });
    const values = bias.dataSync().slice();
    bias.dispose();
    await attnCheck({ name: 'GR-1 mask', q: [2, 2, 7, 8], bias: { shape: [7, 7], values } });
  });

  it('seeded random configurations', async () => {
    const rng = makeRng(21);
    for (let c = 0; c < 10; c++) {
      const [B, H, Tq, Tk, D] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 9), rng.int(1, 9), rng.int(1, 20)];
      const biasShape = [
        [Tq, Tk],
        [H, Tq, Tk],
        [B, 1, 1, Tk],
        [B, H, Tq, Tk],
      ][rng.int(0, 3)];
      await attnCheck(
        {
          name: `random #${c}`,
          q: [B, H, Tq, D],
          kLen: Tk,
          opts: { causal: rng.uniform() < 0.5 },
          mask: rng.uniform() < 0.5 ? { shape: [B, Tk], dtype: 'bool' } : undefined,
          bias: rng.uniform() < 0.6 ? biasWithNegInf(biasShape, 5, c) : undefined,
        },
        c,
      );
    }
  });
});

interface ComposeCase {
  name: string;
  lead: number[];
  armDim: number;
  delta?: boolean;
  gripDelta?: boolean;
  opts?: (x: Record<string, tf.Tensor>) => ComposeOptions;
  vectors?: Record<string, InputSpec>;
}

function composeCheck(c: ComposeCase) {
  const shapes: Record<string, number[] | InputSpec> = {
    anchor: [...c.lead, c.armDim],
    gripLogit: { shape: c.lead, std: 2 },
    ...c.vectors,
  };
  if (c.delta !== false) shapes.delta = { shape: [...c.lead, c.armDim], std: 0.3 };
  if (c.gripDelta !== false) shapes.gripDelta = { shape: c.lead, std: 0.3 };
  const ins = (x: Record<string, tf.Tensor>) => ({
    anchor: x.anchor,
    delta: x.delta,
    gripLogit: x.gripLogit,
    gripDelta: x.gripDelta,
  });
  return checkOp({
    name: `composeResidual ${c.name}`,
    shapes,
    native: (x) => ({ ...composeResidual(ins(x), c.opts?.(x)) }),
    reference: (x) => ({ ...composeResidualReference(ins(x), c.opts?.(x)) }),
    atol: 1e-5,
    rtol: 1e-5,
    gradAtol: 1e-5,
    gradRtol: 1e-5,
  });
}

describe.skipIf(!native)('composeResidual (native kernel vs composite reference)', () => {
  const armVecs = (n: number): Record<string, InputSpec> => ({
    mean: { shape: [n] },
    std: { shape: [n], values: Float32Array.from({ length: n }, (_, i) => 0.5 + 0.25 * i) },
  });
  const cases: ComposeCase[] = [
    { name: 'anchor + residuals, no unnormalize', lead: [2, 5], armDim: 7 },
    { name: 'missing delta and gripDelta', lead: [3, 4], armDim: 6, delta: false, gripDelta: false },
    { name: 'missing delta only', lead: [4], armDim: 3, delta: false },
    {
      name: 'mean_std unnormalize (stats as tensors, differentiated)',
      lead: [2, 4],
      armDim: 5,
      vectors: armVecs(5),
      opts: (x) => ({
        unnormalize: { mode: 'mean_std', mean: x.mean as tf.Tensor1D, std: x.std as tf.Tensor1D },
      }),
    },
    {
      name: 'quantile unnormalize (plain arrays)',
      lead: [2, 4],
      armDim: 3,
      opts: () => ({ unnormalize: { mode: 'quantile', q01: [-1, -2, 0], q99: [1, 4, 0.5] } }),
    },
    {
      name: 'mean_std + bounds (bounds differentiated)',
      lead: [3, 5],
      armDim: 4,
      vectors: {
        low: { shape: [4], values: [-0.5, -1, -0.2, -3] },
        high: { shape: [4], values: [0.5, 1, 0.3, 3] },
      },
      opts: (x) => ({
        unnormalize: { mode: 'mean_std', mean: [0.1, 0, -0.1, 0.2], std: [1, 2, 0.5, 1] },
        bounds: { low: x.low as tf.Tensor1D, high: x.high as tf.Tensor1D },
      }),
    },
    { name: 'rank-1 anchor, scalar gripper', lead: [], armDim: 6 },
  ];
  for (const c of cases) it(c.name, () => composeCheck(c));
});
