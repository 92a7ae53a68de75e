import { assertBinary, assertRank, assertSameShape, shapeText } from '@anchor-refine/core-tensors';
import type * as tf from '@tensorflow/tfjs';

export { assertSameShape };

/** Throws unless `t` is a rank-3 `[B, H, D]` tensor. */
export function assertBHD(fn: string, name: string, t: tf.Tensor): void {
  assertRank(fn, name, t, 3, '[B, H, D]');
}

/** Throws unless `mask` is `[B, H]` matching `ref` `[B, H, D]` and holds only 0/1. */
export function assertMask(fn: string, mask: tf.Tensor, refName: string, ref: tf.Tensor): void {
  if (mask.rank !== 2 || mask.shape[0] !== ref.shape[0] || mask.shape[1] !== ref.shape[1]) {
    throw new Error(
      `${fn}: mask shape ${shapeText(mask.shape)} must be [B, H] = ${shapeText(ref.shape.slice(0, 2))} of ${refName} shape ${shapeText(ref.shape)}`,
    );
  }
  assertBinary(fn, 'mask', mask, '1 = valid step');
}
