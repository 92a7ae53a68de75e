import type * as tf from '@tensorflow/tfjs';

export const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

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

/** Throws unless `t` is a rank-3 `[B, H, D]` tensor. */
export function assertBHD(fn: string, name: string, t: tf.Tensor): void {
  if (t.rank !== 3) {
    throw new Error(`${fn}: ${name} must be [B, H, D] (rank 3), got shape ${fmt(t.shape)}`);
  }
}

/** Throws unless `mask` is `[B, H]` matching `ref` `[B, H, D]` and holds only 0/1. */
export function assertMask(fn: string, mask: tf.Tensor, refName: string, ref: tf.Tensor): void {
  if (mask.rank !== 2 || mask.shape[0] !== ref.shape[0] || mask.shape[1] !== ref.shape[1]) {
    throw new Error(
      `${fn}: mask shape ${fmt(mask.shape)} must be [B, H] = ${fmt(ref.shape.slice(0, 2))} of ${refName} shape ${fmt(ref.shape)}`,
    );
  }
  const v = mask.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = Number(v[i]);
    if (x !== 0 && x !== 1) {
      throw new Error(`${fn}: mask must be in {0, 1} (1 = valid step), got ${x} at flat index ${i}`);
    }
  }
}
