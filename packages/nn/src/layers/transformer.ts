/**
 * Pre-LN transformer blocks (GPT-2 / ViT / DiT layout):
 *   x = x + attn(ln_1(x))                     causal or bidirectional self-attention
 *   x = x + cross_attn(ln_cross(x), context)  optional
 *   x = x + mlp(ln_2(x))
 * and a stack of them with a final LayerNorm `ln_f`.
 */
import * as tf from '@tensorflow/tfjs';
import { normal, residualStd, xavierUniform, zeros } from '../init.js';
import { Module, ModuleList } from '../module.js';
import { defaultRng, type Rng } from '../random.js';
import type { ActivationName } from './activation.js';
import { MultiHeadAttention } from './attention.js';
import { LayerNorm } from './layer_norm.js';
import type { LinearInit } from './linear.js';
import { MLP } from './mlp.js';

export type AttentionMode = 'causal' | 'bidirectional';

/**
 * 'gpt2': N(0, initStd²) weights, zero biases, residual projections N(0, residualStd²) (nanoGPT, GR-1).
 * 'xavier': xavier_uniform weights, zero biases (ViT / DiT `_basic_init`, X-VLA).
 * 'pytorch': nn.Linear's own kaiming-uniform defaults.
 */
export type InitScheme = 'gpt2' | 'xavier' | 'pytorch';

export interface TransformerBlockConfig {
  dim: number;
  heads: number;
  /** 4: the GPT-2 / ViT MLP width multiplier. */
  mlpRatio?: number;
  /** 'bidirectional': encoder-style; 'causal' for autoregressive token streams (GR-1). */
  mode?: AttentionMode;
  /** Adds a cross-attention sublayer over forward's `context`. */
  crossAttention?: boolean;
  /** Feature size of the cross-attention context; default dim. */
  contextDim?: number;
  /** 'gelu' (exact): PyTorch / timm default; GPT-2 checkpoints want 'gelu_tanh'. */
  activation?: ActivationName;
  /** Residual dropout after each sublayer's output projection. */
  dropout?: number;
  bias?: boolean;
  /** 1e-5: PyTorch LayerNorm default (GPT-2 uses the same; timm ViTs 1e-6). */
  eps?: number;
  fusedQkv?: boolean;
  /** 'gpt2': trains stably from scratch at small batch sizes. */
  init?: InitScheme;
  /** 0.02: GPT-2's initializer_range. */
  initStd?: number;
  /** Std of residual-branch projections under 'gpt2' (Transformer sets initStd/√(2·depth)); default initStd. */
  residualStd?: number;
  rng?: Rng;
}

export interface BlockForwardOptions {
  /** [B, Tc, contextDim], required when the block has cross-attention. */
  context?: tf.Tensor;
  /** [B, T] bool, true = padded token (self-attention keys). */
  keyPaddingMask?: tf.Tensor;
  /** [B, Tc] bool, true = padded context token (cross-attention keys). */
  contextPaddingMask?: tf.Tensor;
  /** Additive self-attention score bias broadcastable to [B, H, T, T]; may hold −Infinity. */
  attnBias?: tf.Tensor;
}

function linearInits(cfg: TransformerBlockConfig): { init: LinearInit; outInit: LinearInit } {
  const scheme = cfg.init ?? 'gpt2';
  if (scheme === 'pytorch') return { init: {}, outInit: {} };
  if (scheme === 'xavier') {
    const init: LinearInit = { weightInit: (s, r) => xavierUniform(s, r), biasInit: (s) => zeros(s) };
    return { init, outInit: init };
  }
  const std = cfg.initStd ?? 0.02;
  const outStd = cfg.residualStd ?? std;
  return {
    init: { weightInit: (s, r) => normal(s, r, { std }), biasInit: (s) => zeros(s) },
    outInit: { weightInit: (s, r) => normal(s, r, { std: outStd }), biasInit: (s) => zeros(s) },
  };
}

export class TransformerBlock extends Module {
  readonly mode: AttentionMode;
  readonly ln_1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln_cross: LayerNorm | undefined;
  readonly cross_attn: MultiHeadAttention | undefined;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;

  constructor(readonly config: TransformerBlockConfig) {
    super();
    const { dim, heads } = config;
    const rng = config.rng ?? defaultRng();
    const { init, outInit } = linearInits(config);
    const bias = config.bias ?? true;
    const dropout = config.dropout ?? 0;
    const ln = () => new LayerNorm(dim, { eps: config.eps, bias });
    this.mode = config.mode ?? 'bidirectional';
    this.ln_1 = this.registerModule('ln_1', ln());
    this.attn = this.registerModule(
      'attn',
      new MultiHeadAttention(dim, heads, { bias, dropout, fusedQkv: config.fusedQkv, rng, init, outInit }),
    );
    if (config.crossAttention) {
      this.ln_cross = this.registerModule('ln_cross', ln());
      this.cross_attn = this.registerModule(
        'cross_attn',
        new MultiHeadAttention(dim, heads, {
          kvDim: config.contextDim ?? dim,
          bias,
          dropout,
          rng,
          init,
          outInit,
        }),
      );
    }
    this.ln_2 = this.registerModule('ln_2', ln());
    const hidden = Math.round(dim * (config.mlpRatio ?? 4));
    this.mlp = this.registerModule(
      'mlp',
      new MLP(dim, hidden, { activation: config.activation, dropout, bias, rng, init, outInit }),
    );
  }

  /** x [B, T, dim] → [B, T, dim] */
  forward(x: tf.Tensor, opts: BlockForwardOptions = {}): tf.Tensor {
    const { context, keyPaddingMask, contextPaddingMask, attnBias } = opts;
    if (this.cross_attn && !context)
      throw new Error('TransformerBlock: cross-attention block needs a context');
    return tf.tidy(() => {
      const causal = this.mode === 'causal';
      let h = tf.add(x, this.attn.forward(this.ln_1.forward(x), { causal, keyPaddingMask, bias: attnBias }));
      if (this.cross_attn && this.ln_cross) {
        const c = this.cross_attn.forward(this.ln_cross.forward(h), {
          context,
          keyPaddingMask: contextPaddingMask,
        });
        h = tf.add(h, c);
      }
      return tf.add(h, this.mlp.forward(this.ln_2.forward(h)));
    });
  }
}

export interface TransformerConfig extends TransformerBlockConfig {
  depth: number;
  /** true: GPT-2's residual-projection std initStd/√(2·depth) under init 'gpt2' (ignored otherwise). */
  scaleResidualInit?: boolean;
}

/** `depth` TransformerBlocks then a final LayerNorm `ln_f`. */
export class Transformer extends Module {
  readonly blocks: ModuleList<TransformerBlock>;
  readonly ln_f: LayerNorm;

  constructor(readonly config: TransformerConfig) {
    super();
    const rng = config.rng ?? defaultRng();
    const scaled = (config.scaleResidualInit ?? true) && config.residualStd === undefined;
    const blockCfg: TransformerBlockConfig = {
      ...config,
      rng,
      residualStd: scaled ? residualStd(config.initStd ?? 0.02, config.depth) : config.residualStd,
    };
    this.blocks = this.registerModule('blocks', new ModuleList<TransformerBlock>());
    for (let i = 0; i < config.depth; i++) this.blocks.push(new TransformerBlock(blockCfg));
    this.ln_f = this.registerModule(
      'ln_f',
      new LayerNorm(config.dim, { eps: config.eps, bias: config.bias }),
    );
  }

  /** x [B, T, dim] → [B, T, dim] */
  forward(x: tf.Tensor, opts: BlockForwardOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      for (const block of this.blocks) h = block.forward(h, opts);
      return this.ln_f.forward(h);
    });
  }
}
