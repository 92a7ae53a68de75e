/** Wrong dtypes and shapes into every op and kernel throw an Error naming the op and the shapes. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { FusedAttention } from './kernel_names.js';
import { composeResidual } from './ops/compose_residual.js';
import { composeResidualReference } from './ops/compose_residual_reference.js';
import { fusedAttention } from './ops/fused_attention.js';
import { fusedAttentionReference } from './ops/fused_attention_reference.js';
import { nativeAvailable } from './test-utils/native_available.js';

const attention = [
  ['fusedAttention', fusedAttention],
  ['fusedAttentionReference', fusedAttentionReference],
] as const;

describe.each(attention)('%s rejects bad arguments', (op, fn) => {
  const t = (shape: number[], dtype: tf.DataType = 'float32') =>
    tf.zeros<tf.Rank>(shape, dtype) as tf.Tensor4D;
  const cases: [string, () => unknown, RegExp][] = [
    [
      'q of rank 3',
      () => fn(t([2, 3, 4]), t([2, 1, 3, 4]), t([2, 1, 3, 4])),
      /q \[2,3,4\].*rank 4|rank 4.*q \[2,3,4\]/,
    ],
    [
      'int32 q',
      () => fn(t([1, 1, 2, 4], 'int32'), t([1, 1, 2, 4]), t([1, 1, 2, 4])),
      /q must be float32.*q \[1,1,2,4\] int32/,
    ],
    [
      'head dim mismatch',
      () => fn(t([1, 1, 2, 4]), t([1, 1, 2, 5]), t([1, 1, 2, 5])),
      /k must be.*k \[1,1,2,5\]/,
    ],
    [
      'v shape != k shape',
      () => fn(t([1, 1, 2, 4]), t([1, 1, 3, 4]), t([1, 1, 2, 4])),
      /v must have the shape of k.*v \[1,1,2,4\]/,
    ],
    [
      'mask [B,Tq] instead of [B,Tk]',
      () =>
        fn(t([1, 1, 2, 4]), t([1, 1, 3, 4]), t([1, 1, 3, 4]), { keyPaddingMask: tf.zeros([1, 2], 'bool') }),
      /keyPaddingMask must be \[batch, kLen\].*keyPaddingMask \[1,2\] bool/,
    ],
    [
      'bias that does not broadcast',
      () => fn(t([1, 2, 4, 4]), t([1, 2, 4, 4]), t([1, 2, 4, 4]), { bias: tf.zeros([3, 4]) }),
      /bias must broadcast to .*\[1,2,4,4\].*bias \[3,4\]/,
    ],
    [
      'bias of rank 5',
      () => fn(t([1, 1, 2, 2]), t([1, 1, 2, 2]), t([1, 1, 2, 2]), { bias: tf.zeros([1, 1, 1, 2, 2]) }),
      /bias must have rank <= 4/,
    ],
    [
      'int32 bias',
      () => fn(t([1, 1, 2, 2]), t([1, 1, 2, 2]), t([1, 1, 2, 2]), { bias: tf.zeros([2, 2], 'int32') }),
      /bias must be float32/,
    ],
    [
      'NaN scale',
      () => fn(t([1, 1, 2, 2]), t([1, 1, 2, 2]), t([1, 1, 2, 2]), { scale: Number.NaN }),
      /scale must be a finite number/,
    ],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => {
      tf.tidy(() => {
        expect(call).toThrow(new RegExp(`^${op}: `));
        expect(call).toThrow(message);
      });
    });
  }
});

const compose = [
  ['composeResidual', composeResidual],
  ['composeResidualReference', composeResidualReference],
] as const;

describe.each(compose)('%s rejects bad arguments', (op, fn) => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'gripLogit shape',
      () => fn({ anchor: tf.zeros([2, 3, 4]), gripLogit: tf.zeros([2]) }),
      /gripLogit must have anchor's leading shape \[2,3\].*gripLogit \[2\]/,
    ],
    [
      'delta shape',
      () => fn({ anchor: tf.zeros([2, 4]), delta: tf.zeros([2, 3]), gripLogit: tf.zeros([2]) }),
      /delta must have the shape of anchor.*delta \[2,3\]/,
    ],
    [
      'gripDelta shape',
      () => fn({ anchor: tf.zeros([2, 4]), gripLogit: tf.zeros([2]), gripDelta: tf.zeros([3]) }),
      /gripDelta must have the shape of gripLogit/,
    ],
    [
      'int32 anchor',
      () => fn({ anchor: tf.zeros([2, 4], 'int32'), gripLogit: tf.zeros([2]) }),
      /anchor must be float32.*anchor \[2,4\] int32/,
    ],
    [
      'mean of the wrong length',
      () =>
        fn(
          { anchor: tf.zeros([2, 4]), gripLogit: tf.zeros([2]) },
          { unnormalize: { mode: 'mean_std', mean: [0, 0], std: [1, 1, 1, 1] } },
        ),
      /must be \[armDim\] = \[4\]/,
    ],
    [
      'bounds of the wrong length',
      () =>
        fn(
          { anchor: tf.zeros([2, 4]), gripLogit: tf.zeros([2]) },
          { bounds: { low: [0], high: [1, 1, 1, 1] } },
        ),
      /low must be \[armDim\] = \[4\].*low \[1\]/,
    ],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => {
      tf.tidy(() => {
        expect(call).toThrow(new RegExp(`^${op}: `));
        expect(call).toThrow(message);
      });
    });
  }
});

describe.skipIf(!nativeAvailable())('native kernels reject bad arguments', () => {
  it('BatchMatMul with mismatched inner dims names the op and both shapes', () => {
    tf.tidy(() => {
      if (tf.getBackend() !== 'native') return;
      expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(
        /^BatchMatMul: inner dimensions differ.*a \[2,3\], b \[4,5\]/,
      );
      expect(() => tf.matMul(tf.zeros([2, 2, 3]), tf.zeros([3, 3, 2]))).toThrow(
        /batch dimensions do not broadcast.*a \[2,2,3\], b \[3,3,2\]/,
      );
    });
  });
  it('FusedAttention run directly with a bad q', () => {
    tf.tidy(() => {
      if (tf.getBackend() !== 'native') return;
      const z = tf.zeros([1, 1, 2, 4]);
      const call = () =>
        tf
          .engine()
          .runKernel(
            FusedAttention,
            { q: tf.zeros([1, 2, 4]), k: z, v: z, keyPaddingMask: tf.scalar(0), bias: tf.scalar(0) },
            { scale: 1, causal: false, hasKeyPaddingMask: false, hasBias: false },
          );
      expect(call).toThrow(/^FusedAttention: q must have rank 4.*q \[1,2,4\]/);
    });
  });
});
