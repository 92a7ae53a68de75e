/**
 * Argument checks for tensor-taking functions across the packages: each throws an Error that names the
 * function, the argument and the shapes involved, e.g. `gripperLoss: labels shape [2, 3] must equal
 * anchorLogits shape [2, 4]`.
 */
import type * as tf from '@tensorflow/tfjs';

/** `[2, 3]`: shapes as they appear in check messages. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Throws unless `t` has rank `rank`; `layout` names the dimensions, e.g. '[B, H]'. */
export function assertRank(fn: string, name: string, t: tf.Tensor, rank: number, layout: string): void {
  if (t.rank !== rank) {
    throw new Error(`${fn}: ${name} must be ${layout} (rank ${rank}), got shape ${shapeText(t.shape)}`);
  }
}

/** Throws unless `t` has exactly the shape of `ref` (named `refName`). */
export function assertSameShape(
  fn: string,
  name: string,
  t: tf.Tensor,
  refName: string,
  ref: tf.Tensor,
): void {
  if (t.rank !== ref.rank || t.shape.some((s, i) => s !== ref.shape[i])) {
    throw new Error(
      `${fn}: ${name} shape ${shapeText(t.shape)} must equal ${refName} shape ${shapeText(ref.shape)}`,
    );
  }
}

/** Throws unless every element of `t` is 0 or 1; `meaning` says what 1 stands for. Reads the values
 *  synchronously (cheap for label and mask tensors; avoid on large device tensors). */
export function assertBinary(fn: string, name: string, t: tf.Tensor, meaning: string): void {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = Number(v[i]);
    if (x !== 0 && x !== 1) {
      throw new Error(
        `${fn}: ${name} must be in {0, 1} (${meaning}), got ${x} at flat index ${i} of shape ${shapeText(t.shape)}`,
      );
    }
  }
}
