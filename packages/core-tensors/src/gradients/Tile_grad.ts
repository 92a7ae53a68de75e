/**
 * Tile gradient as one reshape + one sum: dy [r0·s0, r1·s1, …] is viewed as [r0, s0, r1, s1, …] (axis d
 * of the output is k·s(d) + i with k < r(d)) and summed over the r axes → [s0, s1, …]. Size-1 entries are
 * left out and neighbours of the same kind merged, so the view stays short (a [1,1,10,128] tile by
 * [8,2,1,1] sums [16, 1280] over axis 0) and inside the native kernels' rank. The stock tfjs gradient
 * adds a slice of dy per tile (reps0 · reps1 · … slice + add kernels: 64 for a batch-32 tile) and stops at
 * rank 4. Registered for every backend (gradients are keyed by kernel name only).
 */
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';

/** The view of dy and its axes to sum: [(size, summed)] with size-1 entries dropped and runs merged. */
export function tileGradView(
  shape: readonly number[],
  reps: readonly number[],
): { view: number[]; axes: number[] } {
  const parts: { size: number; summed: boolean }[] = [];
  const push = (size: number, summed: boolean) => {
    if (size === 1) return;
    const last = parts.at(-1);
    if (last && last.summed === summed) last.size *= size;
    else parts.push({ size, summed });
  };
  shape.forEach((s, d) => {
    push(reps[d], true);
    push(s, false);
  });
  return {
    view: parts.map((p) => p.size),
    axes: parts.flatMap((p, i) => (p.summed ? [i] : [])),
  };
}

export const tileGradConfig: GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [x] = saved;
    const { reps } = attrs as unknown as { reps: number[] };
    return {
      x: () => {
        const { view, axes } = tileGradView(x.shape, reps);
        if (axes.length === 0 || x.size === 0)
          return tf.reshape(g.size === x.size ? g : tf.zeros(x.shape), x.shape);
        return tf.reshape(tf.sum(tf.reshape(g, view), axes), x.shape);
      },
    };
  },
};
