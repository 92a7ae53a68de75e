/**
 * Plain-JS float64 versions of the attention and composition formulas, straight from their
 * definitions (no tfjs), plus central differences: the ground truth of the finite-difference tests.
 */
import { padShape, stridesOf } from '../shape_utils.js';

export interface Attention64Args {
  batch: number;
  heads: number;
  qLen: number;
  kLen: number;
  headDim: number;
  scale: number;
  causal: boolean;
  /** [B, Tk], nonzero = padded. */
  mask?: ArrayLike<number>;
  bias?: { values: ArrayLike<number>; shape: number[] };
}

/** out [B,H,Tq,D] for q [B,H,Tq,D], k/v [B,H,Tk,D]; rows with no visible key are 0. */
export function attention64(
  a: Attention64Args,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
): Float64Array {
  const { batch: B, heads: H, qLen: Tq, kLen: Tk, headDim: D } = a;
  const out = new Float64Array(B * H * Tq * D);
  const bShape = a.bias ? padShape(a.bias.shape, 4) : [1, 1, 1, 1];
  const bStr = stridesOf(bShape).map((s, i) => (bShape[i] === 1 ? 0 : s));
  const s = new Float64Array(Tk);
  const vis = new Uint8Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) {
          const bias = a.bias ? a.bias.values[b * bStr[0] + h * bStr[1] + i * bStr[2] + j * bStr[3]] : 0;
          vis[j] = (a.causal && j > i) || (a.mask && a.mask[b * Tk + j] !== 0) || bias === -Infinity ? 0 : 1;
          if (!vis[j]) continue;
          let dot = 0;
          for (let d = 0; d < D; d++)
            dot += q[((b * H + h) * Tq + i) * D + d] * k[((b * H + h) * Tk + j) * D + d];
          s[j] = a.scale * dot + bias;
          if (s[j] > max) max = s[j];
        }
        if (max === -Infinity) continue; // sees no key: zeros
        let z = 0;
        for (let j = 0; j < Tk; j++) if (vis[j]) z += Math.exp(s[j] - max);
        for (let j = 0; j < Tk; j++) {
          if (!vis[j]) continue;
          const p = Math.exp(s[j] - max) / z;
          for (let d = 0; d < D; d++)
            out[((b * H + h) * Tq + i) * D + d] += p * v[((b * H + h) * Tk + j) * D + d];
        }
      }
    }
  }
  return out;
}

export interface Compose64Args {
  rows: number;
  armDim: number;
  scale?: ArrayLike<number>;
  shift?: ArrayLike<number>;
  low?: ArrayLike<number>;
  high?: ArrayLike<number>;
}

export function compose64(
  a: Compose64Args,
  anchor: ArrayLike<number>,
  delta: ArrayLike<number> | null,
  gripLogit: ArrayLike<number>,
  gripDelta: ArrayLike<number> | null,
): { arm: Float64Array; prob: Float64Array } {
  const arm = new Float64Array(a.rows * a.armDim);
  const prob = new Float64Array(a.rows);
  for (let r = 0; r < a.rows; r++) {
    for (let j = 0; j < a.armDim; j++) {
      const i = r * a.armDim + j;
      let y = (anchor[i] + (delta ? delta[i] : 0)) * (a.scale ? a.scale[j] : 1) + (a.shift ? a.shift[j] : 0);
      if (a.low) y = Math.max(y, a.low[j]);
      if (a.high) y = Math.min(y, a.high[j]);
      arm[i] = y;
    }
    const p = 1 / (1 + Math.exp(-gripLogit[r])) + (gripDelta ? gripDelta[r] : 0);
    prob[r] = Math.min(1, Math.max(0, p));
  }
  return { arm, prob };
}

/** Central differences of a scalar function of x (float64), step h. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x0 = xs[i];
    xs[i] = x0 + h;
    const fp = f(xs);
    xs[i] = x0 - h;
    const fm = f(xs);
    xs[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

export function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
