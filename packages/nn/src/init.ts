/**
 * Parameter initializers. Each takes the target shape and a seeded `Rng` and returns a fresh float32
 * tensor (the caller owns it), so one seed gives bit-identical parameters. Fan conventions follow
 * PyTorch: a weight is [out, in, ...receptive], fanIn = in·receptive, fanOut = out·receptive.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './random.js';

/** Builds an initial value for a parameter of `shape` from `rng`. */
export type Initializer = (shape: readonly number[], rng: Rng) => tf.Tensor;

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** PyTorch's _calculate_fan_in_and_fan_out for a weight [out, in, ...receptive]; 1-D: fanIn = fanOut = n. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = size(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function zeros(shape: readonly number[]): tf.Tensor {
  return tf.zeros([...shape]);
}

export function ones(shape: readonly number[]): tf.Tensor {
  return tf.ones([...shape]);
}

export function constant(shape: readonly number[], value: number): tf.Tensor {
  return tf.fill([...shape], value);
}

export function uniform(
  shape: readonly number[],
  rng: Rng,
  opts: { low?: number; high?: number } = {},
): tf.Tensor {
  const { low = 0, high = 1 } = opts;
  return tf.tensor(rng.fillUniform(size(shape), low, high), [...shape]);
}

export function normal(
  shape: readonly number[],
  rng: Rng,
  opts: { mean?: number; std?: number } = {},
): tf.Tensor {
  const { mean = 0, std = 1 } = opts;
  return tf.tensor(rng.fillNormal(size(shape), mean, std), [...shape]);
}

export interface TruncatedNormalOptions {
  mean?: number;
  /** 0.02: the GPT-2 / ViT initializer scale. */
  std?: number;
  /** Absolute lower cutoff; default mean − 2·std (tf.truncatedNormal's convention; PyTorch's trunc_normal_
   *  defaults to an absolute −2, which at std 0.02 truncates nothing). */
  a?: number;
  /** Absolute upper cutoff; default mean + 2·std. */
  b?: number;
}

/** Normal N(mean, std²) restricted to [a, b] by rejection (resampling out-of-range draws). */
export function truncatedNormal(
  shape: readonly number[],
  rng: Rng,
  opts: TruncatedNormalOptions = {},
): tf.Tensor {
  const { mean = 0, std = 0.02 } = opts;
  const a = opts.a ?? mean - 2 * std;
  const b = opts.b ?? mean + 2 * std;
  if (!(a < b)) throw new RangeError(`truncatedNormal: need a < b, got a=${a}, b=${b}`);
  if (std <= 0) throw new RangeError(`truncatedNormal: std must be > 0, got ${std}`);
  const n = size(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    let tries = 0;
    do {
      v = mean + std * rng.normal();
      // A window far in a tail could reject forever; clamp after many misses.
      if (++tries > 1000) v = Math.min(b, Math.max(a, v));
    } while (v < a || v > b);
    out[i] = v;
  }
  return tf.tensor(out, [...shape]);
}

/** Glorot/Xavier uniform: U(±gain·√(6 / (fanIn + fanOut))). */
export function xavierUniform(shape: readonly number[], rng: Rng, opts: { gain?: number } = {}): tf.Tensor {
  const { gain = 1 } = opts;
  const { fanIn, fanOut } = fans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, rng, { low: -bound, high: bound });
}

/** Glorot/Xavier normal: N(0, gain²·2 / (fanIn + fanOut)). */
export function xavierNormal(shape: readonly number[], rng: Rng, opts: { gain?: number } = {}): tf.Tensor {
  const { gain = 1 } = opts;
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, rng, { std: gain * Math.sqrt(2 / (fanIn + fanOut)) });
}

export interface KaimingOptions {
  /** Negative slope of the following leaky ReLU; √5 reproduces PyTorch's nn.Linear default init. */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
}

/** He/Kaiming uniform: U(±gain·√(3 / fan)), gain = √(2 / (1 + a²)). With a = √5 the bound is 1/√fanIn. */
export function kaimingUniform(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): tf.Tensor {
  const { a = Math.sqrt(5), mode = 'fanIn' } = opts;
  const { fanIn, fanOut } = fans(shape);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fan);
  return uniform(shape, rng, { low: -bound, high: bound });
}

/** PyTorch's nn.Linear bias init: U(±1/√fanIn) where fanIn is the weight's input size. */
export function linearBiasUniform(shape: readonly number[], rng: Rng, fanIn: number): tf.Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(shape, rng, { low: -bound, high: bound });
}

/**
 * GPT-2's scaled init for residual-branch output projections (attn out_proj, mlp fc2): the residual stream
 * sums 2·nLayers branches, so each gets std / √(2·nLayers) to keep the stream's variance depth-independent.
 */
export function residualStd(std: number, nLayers: number): number {
  return std / Math.sqrt(2 * nLayers);
}
