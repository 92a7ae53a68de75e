/** AdamW (Loshchilov & Hutter, decoupled weight decay) with torch.optim.AdamW semantics. */
import {
  type AdamWArgs,
  activeNativeAddon,
  nativeHostValues,
  nativeOutputArray,
  nativeWritableValues,
} from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { Optimizer, type ParamState } from './optimizer.js';
import { checkNonNegative, type NamedParameters, type ParamGroupRule, type ResolvedParam } from './params.js';

export interface AdamWConfig {
  /** Base learning rate; step(grads, lr) overrides it per call (e.g. from a schedule). */
  lr: number;
  /** Moment decay rates (β1, β2), each in [0, 1). */
  betas?: readonly [number, number];
  /** Added to √v̂; guards the division early in training. */
  eps?: number;
  /** Decoupled decay coefficient for the default group. */
  weightDecay?: number;
  /** Param groups, first match wins; unmatched parameters go to the "default" group. */
  groups?: readonly ParamGroupRule[];
  /**
   * true (default): on the cpu / native backends update each parameter in one host loop; false: always
   * the tf-op formulation (what GPU backends run). Both give the same values to float32 rounding.
   */
  hostUpdate?: boolean;
}

export const ADAMW_DEFAULTS = {
  betas: [0.9, 0.999] as const, // torch.optim.AdamW default
  eps: 1e-8, // torch default; float32 √v̂ is well above it after a few steps
  weightDecay: 0.01, // torch.optim.AdamW default (not 0 as in Adam)
} as const;

/** Names of AdamW's per-parameter state slots (state-dict keys `exp_avg/<param>`, `exp_avg_sq/<param>`). */
export const ADAMW_SLOTS = ['exp_avg', 'exp_avg_sq'] as const;

/**
 * AdamW over named parameters. Per parameter with gradient g at its step t (torch order of operations):
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 */
export class AdamW extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly hostUpdate: boolean;
  protected readonly slotNames = ADAMW_SLOTS;

  constructor(params: NamedParameters, config: AdamWConfig) {
    const owner = 'AdamW';
    if (config === null || typeof config !== 'object')
      throw new TypeError(`${owner}: config is required ({ lr, ... })`);
    super(owner, params, config.lr, config.groups ?? [], config.weightDecay ?? ADAMW_DEFAULTS.weightDecay);
    const betas = config.betas ?? ADAMW_DEFAULTS.betas;
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new RangeError(`${owner}: betas must be [beta1, beta2] (got ${JSON.stringify(betas)})`);
    }
    betas.forEach((b, i) => {
      if (typeof b !== 'number' || !(b >= 0 && b < 1)) {
        throw new RangeError(`${owner}: betas[${i}] must be in [0, 1) (got ${b})`);
      }
    });
    this.betas = [betas[0], betas[1]];
    this.eps = config.eps ?? ADAMW_DEFAULTS.eps;
    this.hostUpdate = config.hostUpdate ?? true;
    checkNonNegative(owner, 'eps', this.eps);
  }

  protected update(
    param: ResolvedParam,
    grad: tf.Tensor,
    state: ParamState,
    lr: number,
    gradScale: number,
  ): tf.Tensor[] {
    if (this.hostUpdate && hostBackend()) return this.updateOnHost(param, grad, state, lr, gradScale);
    const [beta1, beta2] = this.betas;
    const [expAvg, expAvgSq] = state.slots;
    const p = param.variable;
    const g = gradScale === 1 ? grad : grad.mul(gradScale);
    const decay = lr * param.group.weightDecay;
    const decayed = decay === 0 ? p : p.mul(1 - decay);
    const m = expAvg.mul(beta1).add(g.mul(1 - beta1));
    const v = expAvgSq.mul(beta2).add(g.square().mul(1 - beta2));
    const biasCorrection1 = 1 - beta1 ** state.step;
    const biasCorrection2 = 1 - beta2 ** state.step;
    const denom = v.sqrt().div(Math.sqrt(biasCorrection2)).add(this.eps);
    p.assign(decayed.sub(m.div(denom).mul(lr / biasCorrection1)));
    return [m, v];
  }

  /**
   * The same update as one pass over the host arrays (cpu / native backends keep tensors in JS typed
   * arrays): ~10 tf ops and their temporaries per parameter become one loop, which matters when a model
   * has hundreds of small parameters. Arithmetic in float64 (the gradient scaled in float64 too), stored
   * as float32.
   */
  private updateOnHost(
    param: ResolvedParam,
    grad: tf.Tensor,
    state: ParamState,
    lr: number,
    gradScale: number,
  ): tf.Tensor[] {
    const [beta1, beta2] = this.betas;
    const p = param.variable;
    const native = nativeAdamW(p, grad, state, {
      beta1,
      beta2,
      eps: this.eps,
      decay: 1 - lr * param.group.weightDecay,
      stepSize: lr / (1 - beta1 ** state.step),
      sqrtBc2: Math.sqrt(1 - beta2 ** state.step),
      gradScale,
    });
    if (native) return native;
    const pv = p.dataSync() as Float32Array;
    const gv = grad.dataSync() as Float32Array;
    const mv = state.slots[0].dataSync() as Float32Array;
    const vv = state.slots[1].dataSync() as Float32Array;
    const n = pv.length;
    const np = new Float32Array(n);
    const nm = new Float32Array(n);
    const nv = new Float32Array(n);
    const decay = 1 - lr * param.group.weightDecay;
    const stepSize = lr / (1 - beta1 ** state.step);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** state.step);
    const eps = this.eps;
    for (let i = 0; i < n; i++) {
      const g = gradScale * gv[i];
      const m = beta1 * mv[i] + (1 - beta1) * g;
      const v = beta2 * vv[i] + (1 - beta2) * g * g;
      nm[i] = m;
      nv[i] = v;
      np[i] = pv[i] * decay - (stepSize * m) / (Math.sqrt(v) / sqrtBc2 + eps);
    }
    p.assign(tf.tensor(np, p.shape, 'float32'));
    return [tf.tensor(nm, p.shape, 'float32'), tf.tensor(nv, p.shape, 'float32')];
  }
}

/**
 * The host update as one native pass (core-tensors' ct_adamw_update: the same double arithmetic and
 * float32 stores as the JS loop, bit for bit) when the backend is `native`; undefined otherwise.
 * In place when core-tensors proves the parameter and both moments private (nativeWritableValues: one
 * dataId reference, a pooled array nobody was handed), which after the first step is the usual case: no
 * tensor is made and nothing is assigned. Otherwise it reads the stored arrays and writes pooled new ones
 * (a checkpoint's dataSync(), a clone, or a first step from unpooled initial values).
 */
function nativeAdamW(
  p: tf.Variable,
  grad: tf.Tensor,
  state: ParamState,
  args: AdamWArgs,
): tf.Tensor[] | undefined {
  const addon = activeNativeAddon();
  if (!addon) return undefined;
  const gv = nativeHostValues(grad);
  if (!gv) return undefined;
  const [expAvg, expAvgSq] = state.slots;
  const wp = nativeWritableValues(p);
  const wm = nativeWritableValues(expAvg);
  const wv = nativeWritableValues(expAvgSq);
  if (wp && wm && wv && wp !== gv) {
    addon.adamwUpdate(args, wp, gv, wm, wv, wp, wm, wv);
    return state.slots;
  }
  const pv = nativeHostValues(p);
  const mv = nativeHostValues(expAvg);
  const vv = nativeHostValues(expAvgSq);
  if (!pv || !mv || !vv) return undefined;
  const n = pv.length;
  const [np, nm, nv] = [nativeOutputArray(n), nativeOutputArray(n), nativeOutputArray(n)];
  addon.adamwUpdate(args, pv, gv, mv, vv, np, nm, nv);
  p.assign(tf.tensor(np, p.shape, 'float32'));
  return [tf.tensor(nm, p.shape, 'float32'), tf.tensor(nv, p.shape, 'float32')];
}

/** True when tensors live in host typed arrays that dataSync() reads without a device copy. */
function hostBackend(): boolean {
  const b = tf.getBackend();
  return b === 'native' || b === 'cpu';
}
