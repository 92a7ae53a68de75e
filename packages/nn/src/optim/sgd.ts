/** Plain SGD with optional (Nesterov) momentum and L2 weight decay, torch.optim.SGD semantics; a baseline. */
import type * as tf from '@tensorflow/tfjs';
import { Optimizer, type ParamState } from './optimizer.js';
import { checkNonNegative, type NamedParameters, type ParamGroupRule, type ResolvedParam } from './params.js';

export interface SGDConfig {
  lr: number;
  /** Momentum factor; 0 disables the momentum buffer. */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer. */
  dampening?: number;
  nesterov?: boolean;
  /** Coupled L2 penalty (added to the gradient), as in torch.optim.SGD. */
  weightDecay?: number;
  groups?: readonly ParamGroupRule[];
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  protected readonly slotNames: readonly string[];

  constructor(params: NamedParameters, config: SGDConfig) {
    const owner = 'SGD';
    if (config === null || typeof config !== 'object')
      throw new TypeError(`${owner}: config is required ({ lr, ... })`);
    super(owner, params, config.lr, config.groups ?? [], config.weightDecay ?? 0);
    this.momentum = config.momentum ?? 0;
    this.dampening = config.dampening ?? 0;
    this.nesterov = config.nesterov ?? false;
    checkNonNegative(owner, 'momentum', this.momentum);
    checkNonNegative(owner, 'dampening', this.dampening);
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) {
      throw new RangeError(`${owner}: nesterov requires momentum > 0 and dampening = 0`);
    }
    this.slotNames = this.momentum > 0 ? ['momentum_buffer'] : [];
  }

  protected update(
    param: ResolvedParam,
    grad: tf.Tensor,
    state: ParamState,
    lr: number,
    gradScale: number,
  ): tf.Tensor[] {
    const p = param.variable;
    const wd = param.group.weightDecay;
    const scaled = gradScale === 1 ? grad : grad.mul(gradScale);
    let g = wd === 0 ? scaled : scaled.add(p.mul(wd));
    const slots: tf.Tensor[] = [];
    if (this.momentum > 0) {
      // torch seeds the buffer with the first gradient (undamped); clone so the caller's tensor stays theirs.
      const buf =
        state.step === 1 ? g.clone() : state.slots[0].mul(this.momentum).add(g.mul(1 - this.dampening));
      g = this.nesterov ? g.add(buf.mul(this.momentum)) : buf;
      slots.push(buf);
    }
    p.assign(p.sub(g.mul(lr)));
    return slots;
  }
}
