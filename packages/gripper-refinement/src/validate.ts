import type * as tf from '@tensorflow/tfjs';

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Throws unless `t` is a rank-2 `[B, H]` tensor. */
export function assertBH(fn: string, name: string, t: tf.Tensor): void {
  if (t.rank !== 2) {
    throw new Error(`${fn}: ${name} must be [B, H] (rank 2), got shape ${fmt(t.shape)}`);
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
    throw new Error(`${fn}: ${name} shape ${fmt(t.shape)} must equal ${refName} shape ${fmt(ref.shape)}`);
  }
}

/** Throws unless every element of `labels` is 0 or 1 (reads the values synchronously). */
export function assertBinary(fn: string, name: string, labels: tf.Tensor): void {
  const v = labels.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = Number(v[i]);
    if (x !== 0 && x !== 1) {
      throw new Error(
        `${fn}: ${name} must be in {0, 1} (1 = closed), got ${x} at flat index ${i} of shape ${fmt(labels.shape)}`,
      );
    }
  }
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
  assertBinary(fn, 'labels', labels);
}
