/** LayerNorm over the last dimension (PyTorch nn.LayerNorm with a 1-D normalized_shape). */
import { layerNorm } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { Module } from '../module.js';

export interface LayerNormOptions {
  /** 1e-5: PyTorch's default (GPT-2 and timm ViTs use 1e-5 / 1e-6; pass what the checkpoint used). */
  eps?: number;
  /** true: learn a per-feature scale `weight` (init 1) and shift `bias` (init 0). */
  elementwiseAffine?: boolean;
  /** true: include the shift when affine (PyTorch ≥ 2.1 `bias=` flag). */
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly eps: number;
  /** [dim] */
  readonly weight: tf.Variable | undefined;
  /** [dim] */
  readonly bias: tf.Variable | undefined;

  constructor(
    readonly dim: number,
    opts: LayerNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', () => tf.ones([dim])) : undefined;
    this.bias =
      affine && (opts.bias ?? true) ? this.registerParameter('bias', () => tf.zeros([dim])) : undefined;
  }

  /** x [..., dim] → [..., dim]: (x − mean) / √(var + eps) · weight + bias, biased variance as PyTorch. */
  forward(x: tf.Tensor): tf.Tensor {
    // core-tensors' layerNorm: one fused kernel forward and backward on `native`, tf ops elsewhere
    return layerNorm(x, this.weight, this.bias, { eps: this.eps });
  }
}
