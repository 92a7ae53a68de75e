/**
 * Multi-head attention with PyTorch-style projections (`q_proj`, `k_proj`, `v_proj`, `out_proj`, or one
 * fused `qkv` for self-attention) over core-tensors' fused attention ops (native flash kernel, or their
 * tf-ops references on other backends). The heads are never transposed: a fused qkv goes to
 * `fusedSelfAttentionPacked` as it is, separate projections to `fusedAttention` in layout 'bthd' after
 * plain reshapes, and the kernels read and write the heads in place.
 */
import { fusedAttention, fusedSelfAttentionPacked } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { addFlops } from '../flops.js';
import { Module } from '../module.js';
import { defaultRng, type Rng } from '../random.js';
import { Dropout } from './dropout.js';
import { Linear, type LinearInit } from './linear.js';

export interface MultiHeadAttentionOptions {
  /** Feature size of the keys/values source (cross-attention context); default dim. */
  kvDim?: number;
  /** Biases on all four projections (true: PyTorch nn.MultiheadAttention / GPT-2). */
  bias?: boolean;
  /** Dropout on the output projection (residual dropout); the fused kernel has no attention-prob dropout. */
  dropout?: number;
  /** One `qkv` Linear(dim, 3·dim) instead of q/k/v_proj (nanoGPT c_attn / timm qkv layout); self-attention only. */
  fusedQkv?: boolean;
  /** Score scale; default 1/√headDim. */
  scale?: number;
  rng?: Rng;
  /** Init of the input projections (and out_proj unless outInit is given). */
  init?: LinearInit;
  /** Init of out_proj, the residual-branch projection (GPT-2 scales its std by 1/√(2·nLayers)). */
  outInit?: LinearInit;
}

export interface AttentionForwardOptions {
  /** [B, Tk, kvDim] keys/values source; default x (self-attention). */
  context?: tf.Tensor;
  /** Query i sees key j iff j ≤ i (top-left aligned). */
  causal?: boolean;
  /** [B, Tk] bool; true = padded key, ignored. */
  keyPaddingMask?: tf.Tensor;
  /** Additive score bias broadcastable to [B, H, Tq, Tk]; may hold −Infinity. */
  bias?: tf.Tensor;
}

export class MultiHeadAttention extends Module {
  readonly headDim: number;
  readonly kvDim: number;
  readonly q_proj: Linear | undefined;
  readonly k_proj: Linear | undefined;
  readonly v_proj: Linear | undefined;
  readonly qkv: Linear | undefined;
  readonly out_proj: Linear;
  readonly drop: Dropout;
  private readonly scale: number | undefined;

  constructor(
    readonly dim: number,
    readonly heads: number,
    opts: MultiHeadAttentionOptions = {},
  ) {
    super();
    if (dim % heads !== 0)
      throw new Error(`MultiHeadAttention: dim ${dim} is not divisible by heads ${heads}`);
    this.headDim = dim / heads;
    this.kvDim = opts.kvDim ?? dim;
    this.scale = opts.scale;
    const rng = opts.rng ?? defaultRng();
    const common = { bias: opts.bias ?? true, rng, ...opts.init };
    if (opts.fusedQkv) {
      if (this.kvDim !== dim)
        throw new Error('MultiHeadAttention: fusedQkv needs kvDim === dim (self-attention)');
      this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, common));
    } else {
      this.q_proj = this.registerModule('q_proj', new Linear(dim, dim, common));
      this.k_proj = this.registerModule('k_proj', new Linear(this.kvDim, dim, common));
      this.v_proj = this.registerModule('v_proj', new Linear(this.kvDim, dim, common));
    }
    this.out_proj = this.registerModule(
      'out_proj',
      new Linear(dim, dim, { bias: opts.bias ?? true, rng, ...(opts.outInit ?? opts.init) }),
    );
    this.drop = this.registerModule('drop', new Dropout(opts.dropout ?? 0, { rng }));
  }

  /** [B, T, dim] → [B, T, H, Dh] (a view: no data moves) */
  private splitHeads(t: tf.Tensor): tf.Tensor4D {
    const [b, len] = t.shape;
    return tf.reshape(t, [b, len, this.heads, this.headDim]) as tf.Tensor4D; // [B, T, dim] → [B, T, H, Dh]
  }

  /** x [B, Tq, dim] (context [B, Tk, kvDim]) → [B, Tq, dim] */
  forward(x: tf.Tensor, opts: AttentionForwardOptions = {}): tf.Tensor {
    const { context, causal = false, keyPaddingMask, bias } = opts;
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new Error(`MultiHeadAttention: x must be [B, T, ${this.dim}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const [b, tq] = x.shape;
      const attnOpts = { causal, keyPaddingMask, bias, scale: this.scale };
      let merged: tf.Tensor; // [B, Tq, dim]
      if (this.qkv) {
        if (context) throw new Error('MultiHeadAttention: a fused qkv projection cannot attend to a context');
        // [B, Tq, 3·dim] = [B, Tq, 3, H, Dh] (q | k | v along features, as nanoGPT's c_attn), read in place
        const qkv = this.qkv.forward(x) as tf.Tensor3D;
        addFlops(4 * b * tq * tq * this.dim); // QKᵀ and PV over all heads
        merged = fusedSelfAttentionPacked(qkv, this.heads, attnOpts); // [B, Tq, dim]
      } else {
        const src = context ?? x; // [B, Tk, kvDim]
        const q = this.q_proj!.forward(x); // [B, Tq, dim]
        const k = this.k_proj!.forward(src); // [B, Tk, dim]
        const v = this.v_proj!.forward(src); // [B, Tk, dim]
        addFlops(4 * b * tq * (k.shape[1] ?? 0) * this.dim); // QKᵀ and PV over all heads
        const out = fusedAttention(this.splitHeads(q), this.splitHeads(k), this.splitHeads(v), {
          ...attnOpts,
          layout: 'bthd',
        }); // [B, Tq, H, Dh]
        merged = tf.reshape(out, [b, tq, this.dim]); // [B, Tq, H, Dh] → [B, Tq, dim]
      }
      return this.drop.forward(this.out_proj.forward(merged));
    });
  }
}
