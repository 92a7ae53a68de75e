/** Global L2 gradient-norm clipping, as torch.nn.utils.clip_grad_norm_ (but returning new tensors). */
import { activeNativeAddon, nativeHostValues } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { type GradMap, gradEntries } from './grads.js';

export interface ClipGradNormOptions {
  /** Added to the norm in the clip coefficient maxNorm / (norm + eps), as torch does. */
  eps?: number;
  /**
   * What to do when the total norm is NaN or ±Inf: 'error' throws naming the non-finite gradients;
   * 'skip' returns an empty grads map with skipped = true so the caller can drop the step.
   */
  onNonFinite?: 'error' | 'skip';
}

export interface ClipGradNormResult {
  /** New tensors the caller owns: scaled when totalNorm > maxNorm, else clones of the inputs. */
  grads: Map<string, tf.Tensor>;
  /** Global L2 norm of the input gradients, before clipping. */
  totalNorm: number;
  /** Whether the gradients were scaled down. */
  clipped: boolean;
  /** True when the norm was non-finite and onNonFinite was 'skip' (grads is then empty). */
  skipped: boolean;
}

export const CLIP_GRAD_NORM_DEFAULTS = {
  eps: 1e-6, // torch.nn.utils.clip_grad_norm_ uses 1e-6
  onNonFinite: 'error', // a NaN/Inf gradient is a bug to surface, not something to apply silently
} as const;

export interface ClipGradScaleResult {
  /** The factor every gradient is to be multiplied by: maxNorm / (totalNorm + eps) when clipped, else 1. */
  scale: number;
  /** Global L2 norm of the gradients, before clipping. */
  totalNorm: number;
  /** Whether scale < 1. */
  clipped: boolean;
  /** True when the norm was non-finite and onNonFinite was 'skip' (scale is then 0: drop the step). */
  skipped: boolean;
}

/**
 * The clip coefficient of torch.nn.utils.clip_grad_norm_ without touching the gradients: the global L2
 * norm over all of them and the factor that brings it to maxNorm. Hand `scale` to
 * `optimizer.step(grads, lr, { gradScale: scale })`, which applies it inside the update (no scaled copies).
 * One read of each gradient (one addon call on `native`); creates no tensors.
 */
export function clipGradScale(
  grads: GradMap,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): ClipGradScaleResult {
  const owner = 'clipGradNorm';
  const eps = options.eps ?? CLIP_GRAD_NORM_DEFAULTS.eps;
  const onNonFinite = options.onNonFinite ?? CLIP_GRAD_NORM_DEFAULTS.onNonFinite;
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new RangeError(`${owner}: maxNorm must be a finite number > 0 (got ${maxNorm})`);
  }
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${owner}: eps must be a finite number >= 0 (got ${eps})`);
  }
  if (onNonFinite !== 'error' && onNonFinite !== 'skip') {
    throw new RangeError(`${owner}: onNonFinite must be 'error' or 'skip' (got ${String(onNonFinite)})`);
  }
  const entries = gradEntries(owner, grads);
  for (const [name, g] of entries) {
    if (g.dtype !== 'float32')
      throw new TypeError(`${owner}: gradient "${name}" has dtype ${g.dtype}, expected float32`);
  }
  if (entries.length === 0) return { scale: 1, totalNorm: 0, clipped: false, skipped: false };

  const perTensor = sumsOfSquares(entries.map(([, g]) => g));
  let total = 0;
  for (const s of perTensor) total += s; // float64 accumulation across tensors
  const totalNorm = Math.sqrt(total);

  if (!Number.isFinite(totalNorm)) {
    if (onNonFinite === 'skip') return { scale: 0, totalNorm, clipped: false, skipped: true };
    const bad = entries.filter((_, i) => !Number.isFinite(perTensor[i])).map(([name]) => `"${name}"`);
    throw new Error(`${owner}: total gradient norm is ${totalNorm}; non-finite gradients: ${bad.join(', ')}`);
  }
  const coef = maxNorm / (totalNorm + eps);
  return coef < 1
    ? { scale: coef, totalNorm, clipped: true, skipped: false }
    : { scale: 1, totalNorm, clipped: false, skipped: false };
}

/**
 * Global L2 norm over all gradients; when it exceeds maxNorm every gradient is multiplied by
 * maxNorm / (totalNorm + eps). One device read-back. The caller keeps ownership of the inputs.
 * (A training step should prefer clipGradScale + optimizer.step's gradScale, which makes no new tensors.)
 */
export function clipGradNorm(
  grads: GradMap,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): ClipGradNormResult {
  const { scale, totalNorm, clipped, skipped } = clipGradScale(grads, maxNorm, options);
  const out = new Map<string, tf.Tensor>();
  if (skipped) return { grads: out, totalNorm, clipped, skipped };
  for (const [name, g] of gradEntries('clipGradNorm', grads))
    out.set(name, tf.keep(clipped ? tf.tidy(() => g.mul(scale)) : tf.clone(g)));
  return { grads: out, totalNorm, clipped, skipped: false };
}

/**
 * Σ g² of each gradient: on the `native` backend one addon call over the stored arrays (double
 * accumulation, no tensors created); elsewhere one stacked tf reduction and a single read-back.
 */
function sumsOfSquares(grads: tf.Tensor[]): Float64Array | Float32Array {
  const addon = activeNativeAddon();
  const host = addon ? grads.map(nativeHostValues) : [];
  if (addon && host.every((v) => v !== undefined)) return addon.sumSquares(host as Float32Array[]);
  const sumsSq = tf.tidy(() => tf.stack(grads.map((g) => g.square().sum())));
  const out = sumsSq.dataSync() as Float32Array;
  sumsSq.dispose();
  return out;
}
