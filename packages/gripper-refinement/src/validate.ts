import { assertBinary, assertRank, assertSameShape } from '@anchor-refine/core-tensors';
import type * as tf from '@tensorflow/tfjs';

export { assertSameShape };

/** Throws unless `t` is a rank-2 `[B, H]` tensor. */
export function assertBH(fn: string, name: string, t: tf.Tensor): void {
  assertRank(fn, name, t, 2, '[B, H]');
}

/** Throws unless `margin` is a finite number > 0. */
export function assertMargin(fn: string, margin: number): void {
  if (!Number.isFinite(margin) || margin <= 0) {
    throw new Error(`${fn}: margin must be a finite number > 0, got ${margin}`);
  }
}

/** Validates the anchor logits / labels pair shared by Eq. 8–10. */
export function checkLogitsLabels(fn: string, anchorLogits: tf.Tensor, labels: tf.Tensor): void {
  assertBH(fn, 'anchorLogits', anchorLogits);
  assertSameShape(fn, 'labels', labels, 'anchorLogits', anchorLogits);
  assertBinary(fn, 'labels', labels, '1 = closed');
}
