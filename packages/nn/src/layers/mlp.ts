/** Transformer feed-forward: fc1 → activation → fc2 → dropout (timm Mlp parameter names). */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.js';
import { defaultRng, type Rng } from '../random.js';
import { type ActivationName, activation } from './activation.js';
import { Dropout } from './dropout.js';
import { Linear, type LinearInit } from './linear.js';

export interface MLPOptions {
  /** 'gelu' (exact erf): PyTorch / timm default; GPT-2 checkpoints want 'gelu_tanh'. */
  activation?: ActivationName;
  /** Dropout on the output (residual dropout). */
  dropout?: number;
  bias?: boolean;
  /** Output width; default `dim`. */
  outDim?: number;
  rng?: Rng;
  /** Init of fc1 (and fc2 unless outInit is given). */
  init?: LinearInit;
  /** Init of fc2, the residual-branch projection (GPT-2 scales its std by 1/√(2·nLayers)). */
  outInit?: LinearInit;
}

export class MLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly drop: Dropout;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(dim: number, hidden: number, opts: MLPOptions = {}) {
    super();
    const rng = opts.rng ?? defaultRng();
    const bias = opts.bias ?? true;
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden, { bias, rng, ...opts.init }));
    this.fc2 = this.registerModule(
      'fc2',
      new Linear(hidden, opts.outDim ?? dim, { bias, rng, ...(opts.outInit ?? opts.init) }),
    );
    this.drop = this.registerModule('drop', new Dropout(opts.dropout ?? 0, { rng }));
    this.act = activation(opts.activation ?? 'gelu');
  }

  /** x [..., dim] → [..., outDim] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.act(this.fc1.forward(x)); // [..., hidden]
      return this.drop.forward(this.fc2.forward(h)); // [..., outDim]
    });
  }
}
