/**
 * A FLOP counter for the layers that carry almost all of a transformer's arithmetic: Linear (2·N·in·out)
 * and attention (4·B·H·Tq·Tk·Dh for QKᵀ and PV). Layers call `addFlops` in forward; `countFlops` turns
 * counting on around a function, so a benchmark can report achieved GFLOP/s from what actually ran.
 * Elementwise ops, norms and softmax are not counted (they are memory-bound and < 2% of the FLOPs of
 * the models here).
 */

export interface FlopCount<T> {
  result: T;
  /** Forward FLOPs of the counted layers (multiply-add = 2). */
  flops: number;
}

let depth = 0;
let total = 0;

/** Adds `n` FLOPs to the running count when a `countFlops` call is active; otherwise a no-op. */
export function addFlops(n: number): void {
  if (depth > 0) total += n;
}

/** Runs `fn` and returns its result with the forward FLOPs the counted layers reported meanwhile. */
export function countFlops<T>(fn: () => T): FlopCount<T> {
  const start = total;
  depth++;
  try {
    const result = fn();
    return { result, flops: total - start };
  } finally {
    depth--;
    if (depth === 0) total = 0;
  }
}
