/**
 * Broadcast-correct BatchMatMul gradient (tensorflow/tfjs#8721: the stock one returns the broadcast
 * batch shape, e.g. [B,D,E] for a [D,E] weight, and backprop throws). Each input's gradient is summed
 * over the batch dimensions it was broadcast along and reshaped to its shape. Registered for every
 * backend (gradients are keyed by kernel name only).
 */

import type { BatchMatMulAttrs, GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import { broadcastReductionAxes } from '../shape_utils.js';

/** Sums `grad` [...outBatch, r, c] over `shape`'s broadcast batch dims → `shape` [...inBatch, r, c]. */
function reduceTo(grad: tf.Tensor, shape: number[]): tf.Tensor {
  const batchAxes = broadcastReductionAxes(shape.slice(0, -2), grad.shape.slice(0, -2));
  const summed = batchAxes.length > 0 ? tf.sum(grad, batchAxes) : grad;
  return summed.shape.join(',') === shape.join(',') ? summed : tf.reshape(summed, shape);
}

/** a [...batch, ·, ·] → [prod(batch) * rows, cols] (reshape; the batch dims fold into rows). */
function foldRows(t: tf.Tensor): tf.Tensor2D {
  return tf.reshape(t, [-1, t.shape[t.shape.length - 1]]);
}

export const batchMatMulGradConfig: GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
    // Linear-layer case a [...batch, m, k] @ b [k, n] (or b^T [n, k]): one 2-D product for db.
    const foldB = b.rank === 2 && a.rank > 2 && !transposeA;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(g, b, false, true);
      db = foldB
        ? () => tf.matMul(foldRows(a), foldRows(g), true, false)
        : () => tf.matMul(a, g, true, false);
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(g, b, false, false);
      db = foldB
        ? () => tf.matMul(foldRows(g), foldRows(a), true, false)
        : () => tf.matMul(g, a, true, false);
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, g, false, true);
      db = () => tf.matMul(a, g, false, false);
    } else {
      da = () => tf.matMul(b, g, true, true);
      db = () => tf.matMul(g, a, true, true);
    }
    return { a: () => reduceTo(da(), a.shape), b: () => reduceTo(db(), b.shape) };
  },
};
