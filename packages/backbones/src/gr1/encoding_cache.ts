/**
 * Streaming inference for GR-1: an image's camera tokens (ViT → resampler → the camera's projections) and
 * the instruction's language token depend only on that input and the weights, and a control loop with
 * history L hands every frame to the policy L times (and the same instruction every step). This cache
 * remembers those per-input encodings so each frame and instruction is encoded once.
 *
 * A hit needs the exact same input (compared element by element, not by a hash or by array identity, so
 * a camera driver that reuses its frame buffer is safe) and the exact same weights: the dataId of every
 * variable involved (any `assign`, e.g. loading a checkpoint, makes a new one) and core-tensors' count of
 * in-place writes (the optimizer's in-place AdamW). The caller uses it only outside training and outside
 * any gradient tape, where an encoding is a constant.
 *
 * A cached encoding was computed in a different batch than the one it joins, so it may differ from a fresh
 * batched encoding in the last bits (GEMM blocking depends on the row count); values are otherwise equal.
 */
import { inPlaceWrites } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';

interface Entry {
  input: Float32Array | Int32Array;
  value: tf.Tensor;
}

/** True when tfjs records a gradient tape now (an encoding must then be computed, not looked up). */
export function tapeActive(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}

function sameValues(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  // compare bit patterns (NaN-safe, and -0 ≠ +0 as an input would differ)
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export class EncodingCache {
  private readonly slots = new Map<string, Entry[]>();
  private weights: readonly object[] = [];
  private writes = -1;

  /** @param capacity encodings kept per slot (per camera, say); the oldest is dropped first */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`EncodingCache: capacity must be an integer >= 1 (got ${capacity})`);
    }
  }

  /** Drops everything unless the weights are the ones of the cached entries. */
  validate(variables: readonly tf.Variable[]): void {
    const writes = inPlaceWrites();
    const same =
      writes === this.writes &&
      variables.length === this.weights.length &&
      variables.every((v, i) => v.dataId === this.weights[i]);
    if (same) return;
    this.clear();
    this.weights = variables.map((v) => v.dataId);
    this.writes = writes;
  }

  /** The cached encoding of `input` in `slot` (a tensor the cache owns: do not dispose it), or undefined. */
  get(slot: string, input: Float32Array | Int32Array): tf.Tensor | undefined {
    const list = this.slots.get(slot);
    return list?.find((e) => sameValues(e.input, input))?.value;
  }

  /**
   * Keeps a copy of `input` and `value` (kept; the cache disposes it when it drops the entry). `perCall`:
   * how many inputs of this slot one call uses (a batch of episodes), so that twice that many are kept.
   */
  set(slot: string, input: Float32Array | Int32Array, value: tf.Tensor, perCall = 1): void {
    let list = this.slots.get(slot);
    if (!list) {
      list = [];
      this.slots.set(slot, list);
    }
    list.push({ input: input.slice(), value: tf.keep(value) });
    const keep = Math.max(this.capacity, 2 * perCall);
    while (list.length > keep) list.shift()?.value.dispose();
  }

  clear(): void {
    for (const list of this.slots.values()) for (const e of list) e.value.dispose();
    this.slots.clear();
  }
}
