/**
 * Exponential moving average of parameters (Polyak averaging, as in Diffusion Policy and ACT-style
 * recipes): after optimizer step t the shadow copy becomes
 *
 *   ē ← d_t·ē + (1 − d_t)·θ,   d_t = min(decay, (1 + t) / (10 + t))
 *
 * The warm-up term (1 + t)/(10 + t) keeps the early average from being dominated by the random
 * initialisation (d_0 = 0.1, d_90 = 0.91, …). Inference and the saved policy use ē; training keeps θ.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedParameters } from './params.js';

export interface EmaConfig {
  /** Upper bound of the per-step decay d_t; must be in [0, 1). */
  decay: number;
}

export class Ema {
  readonly decay: number;
  private readonly shadow = new Map<string, tf.Tensor>();
  /** Updates applied so far (t). */
  private updates = 0;

  constructor(
    private readonly params: NamedParameters,
    config: EmaConfig,
  ) {
    if (typeof config?.decay !== 'number' || !(config.decay >= 0 && config.decay < 1))
      throw new RangeError(`Ema: decay must be in [0, 1), got ${String(config?.decay)}`);
    this.decay = config.decay;
    for (const [name, v] of params) {
      if (this.shadow.has(name)) throw new Error(`Ema: parameter '${name}' is listed twice`);
      this.shadow.set(name, tf.keep(tf.clone(v)));
    }
  }

  /** d_t for the next update. */
  currentDecay(): number {
    const t = this.updates;
    return Math.min(this.decay, (1 + t) / (10 + t));
  }

  get steps(): number {
    return this.updates;
  }

  /** One averaging step from the parameters' current values. */
  update(): void {
    const d = this.currentDecay();
    for (const [name, v] of this.params) {
      const old = this.shadow.get(name) as tf.Tensor;
      const next = tf.tidy(() => tf.add(tf.mul(old, d), tf.mul(v, 1 - d)));
      old.dispose();
      this.shadow.set(name, tf.keep(next));
    }
    this.updates += 1;
  }

  /** The averaged value of one parameter (owned by the Ema; do not dispose). */
  get(name: string): tf.Tensor {
    const t = this.shadow.get(name);
    if (!t) throw new Error(`Ema: no parameter '${name}'`);
    return t;
  }

  /** Writes ē into the parameters (θ ← ē), e.g. before saving the final policy. */
  copyToParams(): void {
    for (const [name, v] of this.params) v.assign(this.get(name));
  }

  /** Clones of ē keyed by parameter name, plus `ema.updates` ([1] float32); the caller disposes them. */
  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, t] of this.shadow) out.set(name, tf.clone(t));
    out.set(EMA_UPDATES_KEY, tf.tensor1d([this.updates], 'float32'));
    return out;
  }

  /** Restores a `stateDict()`; every parameter must be present with its shape. */
  loadStateDict(state: ReadonlyMap<string, tf.Tensor>): void {
    const updates = state.get(EMA_UPDATES_KEY);
    if (!updates) throw new Error(`Ema.loadStateDict: '${EMA_UPDATES_KEY}' is missing`);
    for (const [name, v] of this.params) {
      const t = state.get(name);
      if (!t) throw new Error(`Ema.loadStateDict: parameter '${name}' is missing`);
      if (!tf.util.arraysEqual(t.shape, v.shape))
        throw new Error(
          `Ema.loadStateDict: '${name}' has shape [${t.shape.join(', ')}], the parameter [${v.shape.join(', ')}]`,
        );
    }
    const n = updates.dataSync()[0];
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`Ema.loadStateDict: '${EMA_UPDATES_KEY}' must be a non-negative integer, got ${n}`);
    for (const [name] of this.params) {
      this.shadow.get(name)?.dispose();
      this.shadow.set(name, tf.keep(tf.clone(state.get(name) as tf.Tensor)));
    }
    this.updates = n;
  }

  dispose(): void {
    for (const t of this.shadow.values()) t.dispose();
    this.shadow.clear();
  }
}

export const EMA_UPDATES_KEY = 'ema.updates';
