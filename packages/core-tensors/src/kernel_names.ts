/**
 * Names, inputs and attrs of this package's custom kernels (as tfjs-core/src/kernel_names.ts does for
 * the stock ones). Optional inputs are always present — absent ones are a scalar placeholder and an
 * attr says so — because tfjs saves gradient inputs by name and cannot save a missing one.
 */
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { AttentionLayout } from './ops/attention_layout.js';

export const FusedAttention = 'FusedAttention';
export const FusedAttentionGrad = 'FusedAttentionGrad';
export const FusedAttentionBiasGrad = 'FusedAttentionBiasGrad';
export const FusedSelfAttentionPacked = 'FusedSelfAttentionPacked';
export const FusedSelfAttentionPackedGrad = 'FusedSelfAttentionPackedGrad';
export const FusedSelfAttentionPackedBiasGrad = 'FusedSelfAttentionPackedBiasGrad';
export const ComposeResidual = 'ComposeResidual';
export const ComposeResidualGrad = 'ComposeResidualGrad';

/** Outputs: [out (q's shape: [B,H,Tq,D], or [B,Tq,H,D] in layout 'bthd'), lse [B,H,Tq]]. */
export interface FusedAttentionInputs {
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  keyPaddingMask: TensorInfo;
  bias: TensorInfo;
}
export interface FusedAttentionAttrs extends NamedAttrMap {
  scale: number;
  causal: boolean;
  hasKeyPaddingMask: boolean;
  hasBias: boolean;
  /** Layout of q, k, v and out (the kernels read an absent one as 'bhtd'). */
  layout: AttentionLayout;
}
/**
 * Inputs of FusedAttentionGrad (outputs: [dq, dk, dv]) and of FusedAttentionBiasGrad (output: [dbias],
 * bias's shape; needs hasBias).
 */
export interface FusedAttentionGradInputs extends FusedAttentionInputs {
  out: TensorInfo;
  lse: TensorInfo;
  dy: TensorInfo;
}

/**
 * Inputs of FusedSelfAttentionPacked: qkv [B,T,3·H·D] read as [B,T,3,H,D] (q | k | v along the
 * features). Outputs: [out [B,T,H·D], lse [B,H,T]].
 */
export interface FusedSelfAttentionPackedInputs {
  qkv: TensorInfo;
  keyPaddingMask: TensorInfo;
  bias: TensorInfo;
}
export interface FusedSelfAttentionPackedAttrs extends NamedAttrMap {
  heads: number;
  scale: number;
  causal: boolean;
  hasKeyPaddingMask: boolean;
  hasBias: boolean;
}
/**
 * Inputs of FusedSelfAttentionPackedGrad (output: [dqkv], qkv's shape) and of
 * FusedSelfAttentionPackedBiasGrad (output: [dbias], bias's shape; needs hasBias).
 */
export interface FusedSelfAttentionPackedGradInputs extends FusedSelfAttentionPackedInputs {
  out: TensorInfo;
  lse: TensorInfo;
  dy: TensorInfo;
}

/** Outputs: [arm (anchor's shape), prob (gripLogit's shape), closed (bool, gripLogit's shape)]. */
export interface ComposeResidualInputs {
  anchor: TensorInfo;
  delta: TensorInfo;
  gripLogit: TensorInfo;
  gripDelta: TensorInfo;
  scale: TensorInfo;
  shift: TensorInfo;
  low: TensorInfo;
  high: TensorInfo;
}
export interface ComposeResidualAttrs extends NamedAttrMap {
  hasDelta: boolean;
  hasGripDelta: boolean;
  hasAffine: boolean;
  hasBounds: boolean;
}
/** Outputs: [dArmIn (anchor's shape; the gradient of anchor and of delta), dLogit, dGripDelta]. */
export interface ComposeResidualGradInputs extends ComposeResidualInputs {
  dArm: TensorInfo;
  dProb: TensorInfo;
}

export const LayerNorm = 'LayerNorm';
export const LayerNormGrad = 'LayerNormGrad';
export const Gelu = 'Gelu';
export const GeluGrad = 'GeluGrad';

/** Outputs: [y (x's shape), mean, rstd (x's shape without the last axis)]. Normalizes the last axis. */
export interface LayerNormInputs {
  x: TensorInfo;
  /** [dim], or a scalar placeholder when hasGamma is false. */
  gamma: TensorInfo;
  /** [dim], or a scalar placeholder when hasBeta is false. */
  beta: TensorInfo;
}
export interface LayerNormAttrs extends NamedAttrMap {
  eps: number;
  hasGamma: boolean;
  hasBeta: boolean;
}
/** Outputs: [dx, dgamma, dbeta] (dgamma/dbeta [dim], summed over the leading axes; a scalar 0 when absent). */
export interface LayerNormGradInputs extends LayerNormInputs {
  mean: TensorInfo;
  rstd: TensorInfo;
  dy: TensorInfo;
}

export const Linear = 'Linear';
export const LinearInputGrad = 'LinearInputGrad';
export const LinearWeightGrad = 'LinearWeightGrad';

/** Output: y [..., out] = x [..., in] · weightᵀ (+ bias). PyTorch's nn.Linear layout. */
export interface LinearInputs {
  x: TensorInfo;
  /** [out, in] */
  weight: TensorInfo;
  /** [out], or a scalar placeholder when hasBias is false. */
  bias: TensorInfo;
}
export interface LinearAttrs extends NamedAttrMap {
  hasBias: boolean;
}
/** Output: dx [..., in] = dy [..., out] · weight. */
export interface LinearInputGradInputs {
  dy: TensorInfo;
  weight: TensorInfo;
}
/** Output: dweight [out, in] = dyᵀ · x over all leading rows. */
export interface LinearWeightGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
}

export type GeluApproximate = 'none' | 'tanh';
/** Output: y (x's shape). */
export interface GeluInputs {
  x: TensorInfo;
}
export interface GeluAttrs extends NamedAttrMap {
  approximate: GeluApproximate;
}
/** Output: dx = dy * gelu'(x). */
export interface GeluGradInputs extends GeluInputs {
  dy: TensorInfo;
}
