/**
 * GR-1's read-out: `pred_act_mlps` (two Linears, d → hidden → hidden) then an arm Linear and a scalar
 * Linear (the gripper logit; on the refiner, the gripper correction δ̂). GR-1's release has no
 * activation between the layers; tiny/small configs add one.
 */
import { activation, init, Linear, Module, type Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { ReadoutHead } from '../types.js';

export interface Gr1HeadOptions {
  dim: number;
  hidden: number;
  armDim: number;
  activation: 'none' | 'relu' | 'gelu';
  zeroInitOutput?: boolean;
  rng: Rng;
}

export class Gr1Head extends Module implements ReadoutHead {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly arm: Linear;
  readonly scalar: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(opts: Gr1HeadOptions) {
    super();
    const { dim, hidden, armDim, rng } = opts;
    // Near-zero output layers: the head starts at ≈0 but, unlike exact zeros, passes gradient to the layers
    // below it from the first step (exact zeros stall them until the output weights have grown).
    const zero = opts.zeroInitOutput
      ? {
          weightInit: (s: readonly number[], r: Rng) => init.normal(s, r, { std: 1e-3 }),
          biasInit: (s: readonly number[]) => init.zeros(s),
        }
      : {};
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden, { rng }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, hidden, { rng }));
    this.arm = this.registerModule('arm', new Linear(hidden, armDim, { rng, ...zero }));
    this.scalar = this.registerModule('scalar', new Linear(hidden, 1, { rng, ...zero }));
    this.act = opts.activation === 'none' ? (x) => x : activation(opts.activation);
  }

  /** features [..., d] → arm [..., armDim], scalar [...] */
  forward(features: tf.Tensor): { arm: tf.Tensor; scalar: tf.Tensor } {
    return tf.tidy(() => {
      const h = this.act(this.fc2.forward(this.act(this.fc1.forward(features)))); // [..., hidden]
      const s = this.scalar.forward(h); // [..., 1]
      return { arm: this.arm.forward(h), scalar: tf.squeeze(s, [s.rank - 1]) };
    });
  }
}
