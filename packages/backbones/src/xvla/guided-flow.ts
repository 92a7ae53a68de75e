/**
 * Real-time chunking (RTC, Black, Galliker & Levine 2025) for the flow sampler: the chunk is inpainted
 * towards a target (the still-executing previous plan) by ΠGDM-style guidance with a soft mask.
 *
 * Time runs as in `flow.ts`: t = 1 is pure noise, x_t = t·ε + (1−t)·A, one step is Δ = 1/steps. At each
 * step the clean-chunk estimate is Â(x) = f(x, t) (x0 objective) or x − t·f(x, t) (velocity: f = ε − A),
 * and the guidance is the vector–Jacobian product
 *   g = eᵀ · ∂Â/∂x,   e = W ⊙ (Y − Â(x))   (e held constant),
 * scaled by w(t) = min(β, ((1−t)² + t²) / (t·(1−t))) — the paper's (1−τ)/(τ·r_τ²) with τ = 1 − t and
 * r_τ² = (1−τ)²/(τ² + (1−τ)²), clipped at the cap β (infinite at both ends of the path).
 *   x0:       x ← t′·x1 + (1−t′)·Â + Δ·w·g        (t′ = t − Δ; the released re-noising sampler plus g)
 *   velocity: x ← x − Δ·f(x, t) + Δ·w·g           (Euler plus g)
 * The chunk is the state at t = 0. With W = 0 both reduce exactly to `sampleChunk`.
 */
import { stopGradient } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import type { FlowObjective } from './config.js';
import type { Denoiser } from './flow.js';

export interface FlowGuide {
  /** Y [B, H, C]: the target in model space (only entries with weight > 0 matter) */
  target: tf.Tensor;
  /** W [B or 1, H, C]: the soft mask per step (and channel mask): 1 on the frozen prefix, 0 where free */
  weights: tf.Tensor;
  /** β > 0: the cap on the guidance weight */
  maxWeight: number;
}

/** w(t) = min(β, ((1−t)² + t²) / (t(1−t))) for t ∈ [0, 1] (β at t = 0 and t = 1). */
export function guidanceWeight(t: number, maxWeight: number): number {
  if (!(t >= 0 && t <= 1)) throw new Error(`guidanceWeight: t must be in [0, 1], got ${t}`);
  if (!(maxWeight > 0)) throw new Error(`guidanceWeight: the cap β must be > 0, got ${maxWeight}`);
  if (t === 0 || t === 1) return maxWeight;
  return Math.min(maxWeight, ((1 - t) ** 2 + t ** 2) / (t * (1 - t)));
}

/** Â(x) from the denoiser's output at time t. */
function cleanEstimate(objective: FlowObjective, x: tf.Tensor, out: tf.Tensor, t: number): tf.Tensor {
  return objective === 'x0' ? out : tf.sub(x, tf.mul(out, t));
}

/**
 * The guided sampler from the noise draw x1 [B, H, C]; returns the chunk [B, H, C] (state at t = 0).
 * Each step costs one forward and one backward pass of `f` (gradients w.r.t. its input only).
 */
export function sampleGuidedChunk(
  objective: FlowObjective,
  f: Denoiser,
  x1: tf.Tensor,
  steps: number,
  guide: FlowGuide,
): tf.Tensor {
  if (!Number.isInteger(steps) || steps <= 0)
    throw new Error(`sampleGuidedChunk: steps must be a positive integer, got ${steps}`);
  const shape = x1.shape.join(',');
  if (guide.target.shape.join(',') !== shape)
    throw new Error(`sampleGuidedChunk: target shape [${guide.target.shape}] must equal x1's [${x1.shape}]`);
  if (
    guide.weights.rank !== x1.rank ||
    guide.weights.shape.slice(1).join(',') !== x1.shape.slice(1).join(',')
  )
    throw new Error(
      `sampleGuidedChunk: weights shape [${guide.weights.shape}] must be [B|1, ${x1.shape.slice(1)}]`,
    );
  const b = x1.shape[0] ?? 1;
  const dt = 1 / steps;
  let x = tf.clone(x1);
  for (let i = steps; i >= 1; i--) {
    const t = i / steps;
    const next = tf.tidy(() => {
      const tt = tf.fill([b], t);
      let out: tf.Tensor | undefined;
      const grad = tf.grad((xv: tf.Tensor) => {
        const o = f(xv, tt);
        out?.dispose();
        out = tf.keep(tf.clone(o));
        const est = cleanEstimate(objective, xv, o, t);
        const e = stopGradient(tf.mul(guide.weights, tf.sub(guide.target, est)));
        return tf.sum(tf.mul(e, est));
      });
      const g = grad(x);
      const o = out as tf.Tensor | undefined;
      if (!o) throw new Error('sampleGuidedChunk: the denoiser did not run');
      const scale = dt * guidanceWeight(t, guide.maxWeight);
      const stepped =
        objective === 'x0'
          ? // t′ = (i−1)/steps exactly as sampleChunk's next x_t; at t′ = 0 the state is Â itself
            i > 1
            ? tf.add(tf.mul(x1, (i - 1) / steps), tf.mul(o, 1 - (i - 1) / steps))
            : tf.clone(o)
          : tf.sub(x, tf.mul(o, dt));
      const r = tf.add(stepped, tf.mul(g, scale));
      o.dispose();
      return r;
    });
    x.dispose();
    x = next;
  }
  return x;
}
