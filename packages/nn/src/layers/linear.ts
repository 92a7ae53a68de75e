/** Linear: y = x·Wᵀ + b with PyTorch's layout (weight [out, in]) and default init. */

import { linear } from '@anchor-refine/core-tensors';
import type * as tf from '@tensorflow/tfjs';
import { addFlops } from '../flops.js';
import { type Initializer, kaimingUniform, linearBiasUniform } from '../init.js';
import { Module } from '../module.js';
import { defaultRng, type Rng } from '../random.js';

/** How a Linear's parameters are drawn; omitted fields use PyTorch's nn.Linear defaults. */
export interface LinearInit {
  /** Default kaiming_uniform(a=√5), i.e. U(±1/√in). */
  weightInit?: Initializer;
  /** Default U(±1/√in). */
  biasInit?: Initializer;
}

export interface LinearOptions extends LinearInit {
  bias?: boolean;
  rng?: Rng;
}

export class Linear extends Module {
  /** [out, in] */
  readonly weight: tf.Variable;
  /** [out], absent when bias: false */
  readonly bias: tf.Variable | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = opts.rng ?? defaultRng();
    const weightInit = opts.weightInit ?? ((s, r) => kaimingUniform(s, r));
    const biasInit = opts.biasInit ?? ((s, r) => linearBiasUniform(s, r, inFeatures));
    this.weight = this.registerParameter('weight', () => weightInit([outFeatures, inFeatures], rng));
    this.bias =
      (opts.bias ?? true) ? this.registerParameter('bias', () => biasInit([outFeatures], rng)) : undefined;
  }

  /**
   * x [..., in] → [..., out]. `weight` replaces this.weight for the call: a view of it with the input
   * features in another order (e.g. the ViT's patch layout), same shape [out, in].
   */
  forward(x: tf.Tensor, weight: tf.Tensor = this.weight): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`Linear: expected last dim ${this.inFeatures}, got shape [${x.shape.join(', ')}]`);
    }
    if (weight.rank !== 2 || weight.shape[0] !== this.outFeatures || weight.shape[1] !== this.inFeatures) {
      throw new Error(
        `Linear: weight must be [${this.outFeatures}, ${this.inFeatures}], got [${weight.shape.join(', ')}]`,
      );
    }
    addFlops(2 * x.size * this.outFeatures); // 2·N·in·out, N = prod(lead)
    // [..., in]·[out, in]ᵀ + [out] = [..., out]: one native kernel (no reshapes), composite elsewhere
    return linear(x, weight, this.bias);
  }
}
