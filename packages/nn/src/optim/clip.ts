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

/**
 * Global L2 norm over all gradients; when it exceeds maxNorm every gradient is multiplied by
 * maxNorm / (totalNorm + eps). One device read-back. The caller keeps ownership of the inputs.
 */
export function clipGradNorm(
  grads: GradMap,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): ClipGradNormResult {
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
  if (entries.length === 0) return { grads: new Map(), totalNorm: 0, clipped: false, skipped: false };

  const perTensor = sumsOfSquares(entries.map(([, g]) => g));
  let total = 0;
  for (const s of perTensor) total += s; // float64 accumulation across tensors
  const totalNorm = Math.sqrt(total);

  if (!Number.isFinite(totalNorm)) {
    if (onNonFinite === 'skip') return { grads: new Map(), totalNorm, clipped: false, skipped: true };
    const bad = entries.filter((_, i) => !Number.isFinite(perTensor[i])).map(([name]) => `"${name}"`);
    throw new Error(`${owner}: total gradient norm is ${totalNorm}; non-finite gradients: ${bad.join(', ')}`);
  }
  const coef = maxNorm / (totalNorm + eps);
  const clipped = coef < 1;
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of entries) out.set(name, tf.keep(clipped ? tf.tidy(() => g.mul(coef)) : tf.clone(g)));
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
