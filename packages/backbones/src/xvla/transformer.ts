/**
 * The soft-prompted transformer (research/xvla.md §1.3), parameter names as upstream `transformer.*`:
 *
 *   action tokens  = action_encoder_d([x_t (20) | proprio (20) | temb (timeDim)])        [B, H, d]
 *   x              = [action (H) | vlm_proj(vlm) | aux_visual_proj(aux)] + pos_emb[:T]
 *   x              = [x | soft_prompt_hub[d] viewed [P, d]]         (prompts get no position)
 *   x              = blocks(x)   pre-LN, bidirectional, no mask; MLP with tanh GELU
 *   out            = action_decoder_d(norm(x)[:, :H])                                    [B, H, 20]
 */
import { fusedSelfAttentionPacked } from '@anchor-refine/core-tensors';
import {
  Dropout,
  Embedding,
  geluTanh,
  init,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  type Rng,
} from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { XvlaConfig } from './config.js';
import { DomainAwareLinear } from './domain_linear.js';
import { EE6D_DIM } from './ee6d.js';
import { timeEmbedding } from './flow.js';

const xavier = {
  weightInit: (s: readonly number[], r: Rng) => init.xavierUniform(s, r),
  biasInit: (s: readonly number[]) => init.zeros(s),
};

class XvlaAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly drop: Dropout;
  constructor(
    readonly dim: number,
    readonly heads: number,
    dropout: number,
    rng: Rng,
  ) {
    super();
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { rng, ...xavier }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { rng, ...xavier }));
    this.drop = this.registerModule('drop', new Dropout(dropout, { rng }));
  }

  /** x [B, T, d] → [B, T, d], fully bidirectional, scale 1/√headDim */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // [B, T, 3·d] = [B, T, 3, H, Dh] (timm's qkv layout), the heads read in place
      const qkv = this.qkv.forward(x) as tf.Tensor3D;
      const merged = fusedSelfAttentionPacked(qkv, this.heads); // [B, T, H·Dh]
      return this.drop.forward(this.proj.forward(merged));
    });
  }
}

class XvlaMlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly drop: Dropout;
  constructor(dim: number, hidden: number, dropout: number, rng: Rng) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden, { rng, ...xavier }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, dim, { rng, ...xavier }));
    this.drop = this.registerModule('drop', new Dropout(dropout, { rng }));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.drop.forward(this.fc2.forward(geluTanh(this.fc1.forward(x)))));
  }
}

export class XvlaBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: XvlaAttention;
  readonly norm2: LayerNorm;
  readonly mlp: XvlaMlp;
  constructor(dim: number, heads: number, mlpRatio: number, dropout: number, rng: Rng) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { eps: 1e-5 }));
    this.attn = this.registerModule('attn', new XvlaAttention(dim, heads, dropout, rng));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { eps: 1e-5 }));
    this.mlp = this.registerModule('mlp', new XvlaMlp(dim, Math.round(dim * mlpRatio), dropout, rng));
  }
  /** x [B, T, d] → [B, T, d] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = tf.add(x, this.attn.forward(this.norm1.forward(x)));
      return tf.add(h, this.mlp.forward(this.norm2.forward(h)));
    });
  }
}

/** Conditioning that stays fixed across denoising steps: projected VL tokens (+ their positions) and prompts. */
export type XvlaConditioning = {
  /** [B, Nv + Na, d]: vlm_proj(vlm) ‖ aux_visual_proj(aux), positions H … H+Nv+Na−1 already added */
  tokens: tf.Tensor;
  /** [B, P, d] */
  prompts: tf.Tensor;
};

export type XvlaTransformerOutput = {
  /** [B, H, 20] decoder output (x0 estimate or velocity; gripper channels are logits) */
  out: tf.Tensor;
  /** [B, H, d] the action tokens after action_encoder + positions (what the refiner starts from) */
  actionTokens: tf.Tensor;
};

export interface SoftPromptedTransformerOptions {
  /** Override of config.depth (the refiner is shallower). */
  depth?: number;
  /** Std of a normal init of action_decoder instead of xavier (near-zero: the refiner starts at the anchor). */
  decoderStd?: number;
}

export class SoftPromptedTransformer extends Module {
  readonly blocks: ModuleList<XvlaBlock>;
  readonly vlm_proj: Linear;
  readonly aux_visual_proj: Linear;
  readonly pos_emb: tf.Variable;
  readonly norm: LayerNorm;
  readonly action_encoder: DomainAwareLinear;
  readonly action_decoder: DomainAwareLinear;
  readonly soft_prompt_hub: Embedding;
  readonly depth: number;

  constructor(
    readonly config: XvlaConfig,
    rng: Rng,
    opts: SoftPromptedTransformerOptions = {},
  ) {
    super();
    const { dim, heads, mlpRatio, dropout, numDomains, softPromptLength, maxLenSeq, timeDim } = config;
    const vlDim = config.vl.dim;
    this.depth = opts.depth ?? config.depth;
    this.blocks = this.registerModule('blocks', new ModuleList<XvlaBlock>());
    for (let i = 0; i < this.depth; i++) this.blocks.push(new XvlaBlock(dim, heads, mlpRatio, dropout, rng));
    this.vlm_proj = this.registerModule('vlm_proj', new Linear(vlDim, dim, { rng, ...xavier }));
    this.aux_visual_proj = this.registerModule('aux_visual_proj', new Linear(vlDim, dim, { rng, ...xavier }));
    this.pos_emb = this.registerParameter('pos_emb', () =>
      init.normal([1, maxLenSeq, dim], rng, { std: 0.02 }),
    );
    this.norm = this.registerModule('norm', new LayerNorm(dim, { eps: 1e-5 }));
    this.action_encoder = this.registerModule(
      'action_encoder',
      new DomainAwareLinear(numDomains, 2 * EE6D_DIM + timeDim, dim, { rng }),
    );
    this.action_decoder = this.registerModule(
      'action_decoder',
      new DomainAwareLinear(numDomains, dim, EE6D_DIM, { rng, weightStd: opts.decoderStd }),
    );
    this.soft_prompt_hub = this.registerModule(
      'soft_prompt_hub',
      new Embedding(numDomains, softPromptLength * dim, {
        rng,
        weightInit: (s, r) => init.normal(s, r, { std: 0.02 }),
      }),
    );
  }

  /** Hoists everything that does not depend on (x_t, t): vlm [B, Nv, dv], aux [B, Na, dv], domain [B]. */
  condition(vlm: tf.Tensor, aux: tf.Tensor, domain: tf.Tensor): XvlaConditioning {
    return tf.tidy(() => {
      const { horizon, dim, softPromptLength } = this.config;
      const b = vlm.shape[0];
      const parts = [this.vlm_proj.forward(vlm)]; // [B, Nv, d]
      if ((aux.shape[1] ?? 0) > 0) parts.push(this.aux_visual_proj.forward(aux)); // [B, Na, d]
      const cond = tf.concat(parts, 1); // [B, Nv+Na, d]
      const n = cond.shape[1] ?? 0;
      if (horizon + n > this.config.maxLenSeq) {
        throw new Error(
          `SoftPromptedTransformer: ${horizon + n} tokens exceed maxLenSeq ${this.config.maxLenSeq}`,
        );
      }
      const pos = tf.slice(this.pos_emb, [0, horizon, 0], [1, n, dim]); // [1, Nv+Na, d]
      const prompts = tf.reshape(this.soft_prompt_hub.forward(domain), [b, softPromptLength, dim]); // [B, P·d] → [B, P, d]
      return { tokens: tf.add(cond, pos), prompts };
    });
  }

  /** [x_t | proprio | temb] → action tokens + positions: x_t [B, H, 20], proprio [B, 20], t [B] → [B, H, d] */
  actionTokens(xt: tf.Tensor, proprio: tf.Tensor, t: tf.Tensor, domain: tf.Tensor): tf.Tensor {
    const { horizon: h, dim, timeDim } = this.config;
    if (xt.rank !== 3 || xt.shape[1] !== h || xt.shape[2] !== EE6D_DIM) {
      throw new Error(`SoftPromptedTransformer: x_t must be [B, ${h}, 20], got [${xt.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const b = xt.shape[0];
      const p = tf.broadcastTo(tf.reshape(proprio, [b, 1, EE6D_DIM]), [b, h, EE6D_DIM]); // [B, H, 20]
      const temb = tf.broadcastTo(tf.reshape(timeEmbedding(t, timeDim), [b, 1, timeDim]), [b, h, timeDim]); // [B, H, tdim]
      const tokens = this.action_encoder.forward(tf.concat([xt, p, temb], -1), domain); // [B, H, d]
      return tf.add(tokens, tf.slice(this.pos_emb, [0, 0, 0], [1, h, dim])); // + pos_emb[:H]
    });
  }

  /** One network evaluation on precomputed action tokens [B, H, d] and conditioning. */
  run(actionTokens: tf.Tensor, cond: XvlaConditioning, domain: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.config.horizon;
      const [b] = actionTokens.shape;
      let x = tf.concat([actionTokens, cond.tokens, cond.prompts], 1); // [B, H+N+P, d]
      for (const block of this.blocks) x = block.forward(x);
      const act = tf.slice(this.norm.forward(x), [0, 0, 0], [b, h, this.config.dim]); // [B, H, d]
      return this.action_decoder.forward(act, domain); // [B, H, 20]
    });
  }

  /** x_t [B, H, 20] (gripper channels already zeroed), proprio [B, 20], t [B], domain [B] int32. */
  forward(
    xt: tf.Tensor,
    proprio: tf.Tensor,
    t: tf.Tensor,
    cond: XvlaConditioning,
    domain: tf.Tensor,
  ): XvlaTransformerOutput {
    return tf.tidy(() => {
      const actionTokens = this.actionTokens(xt, proprio, t, domain);
      return { out: this.run(actionTokens, cond, domain), actionTokens };
    });
  }
}
