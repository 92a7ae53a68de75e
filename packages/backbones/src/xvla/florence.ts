/**
 * The Florence-2 encoder side X-VLA uses (research/xvla.md §1.2), forward pass for inference with
 * parameter names identical to the upstream `vlm.*` checkpoint layout (torch shapes kept; convolutions
 * are transposed to TF.js layouts inside forward):
 *
 *   DaViT  4 stages; per stage a patch conv (stage 0: conv 7/4/3 then LN; others: LN then conv 3/2/1), then
 *          `depth` units of [spatial block, channel block]; each block: x += dw3×3(x); x += attn(LN(x));
 *          x += dw3×3(x); x += MLP(LN(x)) (exact GELU). Spatial = window attention (zero-pad right/bottom
 *          to a multiple of the window, padded tokens attended, no position bias); channel = per-group
 *          attention over channels with q scaled by N^−½.
 *   projector  + [col_emb[w] | row_emb[h]], + temporal row 0, tokens [mean ; grid], @ image_projection, LN
 *   BART encoder (main view): [image tokens ; shared[ids]] + embed_positions[pos + 2] → layernorm_embedding
 *          → post-LN layers (exact GELU), no attention mask.
 *
 * Checked against transformers 5.18.0's native Florence2Model at toy shapes (florence.reference.test.ts,
 * fixture from tools/fixtures/florence2_reference.py): stage outputs, image tokens, BART encoder output.
 */
import {
  Embedding,
  gelu,
  init,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  type Rng,
  sinusoidalEmbedding,
} from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { davitGrid, type XvlaFlorenceConfig } from './config.js';
import type { VisionLanguageEncoder, VlFeatures } from './vl.js';

/** A named container (torch nn.Module with only children), for nested upstream names. */
class Node extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.registerModule(name, m);
  }
}

/** Torch Conv2d weight [out, in/groups, k, k] + bias [out], applied to NHWC input. */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(
    readonly inC: number,
    readonly outC: number,
    readonly kernel: number,
    readonly stride: number,
    readonly pad: number,
    readonly depthwise: boolean,
    rng: Rng,
  ) {
    super();
    const shape = [outC, depthwise ? 1 : inC, kernel, kernel];
    this.weight = this.registerParameter('weight', () => init.kaimingUniform(shape, rng));
    this.bias = this.registerParameter('bias', () => init.zeros([outC]));
  }

  /** x [B, H, W, Cin] → [B, H', W', Cout] */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.pad;
      const padded =
        p > 0
          ? tf.pad(x, [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ])
          : x;
      if (this.depthwise) {
        const f = tf.transpose(this.weight, [2, 3, 0, 1]) as tf.Tensor4D; // [C, 1, k, k] → [k, k, C, 1]
        return tf.add(tf.depthwiseConv2d(padded, f, this.stride, 'valid'), this.bias) as tf.Tensor4D;
      }
      const f = tf.transpose(this.weight, [2, 3, 1, 0]) as tf.Tensor4D; // [out, in, k, k] → [k, k, in, out]
      return tf.add(tf.conv2d(padded, f, this.stride, 'valid'), this.bias) as tf.Tensor4D;
    });
  }
}

/** Window attention: qkv/proj over windows of w×w tokens (the map zero-padded to a multiple of w). */
export class WindowAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(
    readonly dim: number,
    readonly heads: number,
    readonly window: number,
    rng: Rng,
  ) {
    super();
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { rng }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { rng }));
  }

  /** x [B, H, W, C] → [B, H, W, C] */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const ws = this.window;
      const hp = Math.ceil(h / ws) * ws;
      const wp = Math.ceil(w / ws) * ws;
      const padded = tf.pad(x, [
        [0, 0],
        [0, hp - h],
        [0, wp - w],
        [0, 0],
      ]); // zeros right/bottom, not masked
      const nh = hp / ws;
      const nw = wp / ws;
      const win = tf.reshape(
        tf.transpose(tf.reshape(padded, [b, nh, ws, nw, ws, c]), [0, 1, 3, 2, 4, 5]), // [B, nh, nw, ws, ws, C]
        [b * nh * nw, ws * ws, c],
      ); // [B·nW, ws², C]
      const dh = c / this.heads;
      const n = ws * ws;
      const qkv = tf.reshape(this.qkv.forward(win), [b * nh * nw, n, 3, this.heads, dh]); // [Bw, N, 3, Hd, Dh]
      const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])); // 3 × [Bw, Hd, N, Dh]
      const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), dh ** -0.5)); // [Bw, Hd, N, N]
      const o = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b * nh * nw, n, c]); // [Bw, N, C]
      const y = this.proj.forward(o);
      const back = tf.reshape(
        tf.transpose(tf.reshape(y, [b, nh, nw, ws, ws, c]), [0, 1, 3, 2, 4, 5]), // [B, nh, ws, nw, ws, C]
        [b, hp, wp, c],
      );
      return tf.slice(back, [0, 0, 0, 0], [b, h, w, c]) as tf.Tensor4D; // crop the padding
    });
  }
}

/** Channel attention per group of C/g channels: attn = softmax((q·N^−½)ᵀ k) [C/g, C/g], out = (attn·vᵀ)ᵀ. */
export class ChannelAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(
    readonly dim: number,
    readonly groups: number,
    rng: Rng,
  ) {
    super();
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { rng }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { rng }));
  }

  /** x [B, N, C] → [B, N, C] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, n, c] = x.shape;
      const g = this.groups;
      const qkv = tf.reshape(this.qkv.forward(x), [b, n, 3, g, c / g]); // [B, N, 3, g, C/g]
      const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])); // 3 × [B, g, N, C/g]
      const attn = tf.softmax(tf.matMul(tf.mul(q, n ** -0.5), k, true, false)); // qᵀk: [B, g, C/g, C/g]
      const out = tf.matMul(attn, v, false, true); // attn·vᵀ: [B, g, C/g, N]
      const merged = tf.reshape(tf.transpose(out, [0, 3, 1, 2]), [b, n, c]); // (·)ᵀ → [B, N, g, C/g] → [B, N, C]
      return this.proj.forward(merged);
    });
  }
}

class DwPosEnc extends Node {
  readonly dw: Conv2d;
  constructor(dim: number, rng: Rng) {
    super();
    const fn = this.add('fn', new Node());
    this.dw = fn.add('dw', new Conv2d(dim, dim, 3, 1, 1, true, rng));
  }
}

/** spatial_block / channel_block: conv1, {window|channel}_attn (norm, fn), conv2, ffn (norm, fn.net.fc1/fc2). */
export class DavitBlock extends Node {
  readonly conv1: DwPosEnc;
  readonly conv2: DwPosEnc;
  readonly attnNorm: LayerNorm;
  readonly attn: WindowAttention | ChannelAttention;
  readonly ffnNorm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(kind: 'spatial' | 'channel', dim: number, heads: number, window: number, rng: Rng) {
    super();
    this.conv1 = this.add('conv1', new DwPosEnc(dim, rng));
    const a = this.add(kind === 'spatial' ? 'window_attn' : 'channel_attn', new Node());
    this.attnNorm = a.add('norm', new LayerNorm(dim));
    this.attn = a.add(
      'fn',
      kind === 'spatial'
        ? new WindowAttention(dim, heads, window, rng)
        : new ChannelAttention(dim, heads, rng),
    );
    this.conv2 = this.add('conv2', new DwPosEnc(dim, rng));
    const f = this.add('ffn', new Node());
    this.ffnNorm = f.add('norm', new LayerNorm(dim));
    const net = f.add('fn', new Node()).add('net', new Node());
    this.fc1 = net.add('fc1', new Linear(dim, 4 * dim, { rng }));
    this.fc2 = net.add('fc2', new Linear(4 * dim, dim, { rng }));
  }

  /** x [B, H, W, C] → [B, H, W, C] */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      let y = tf.add(x, this.conv1.dw.forward(x)) as tf.Tensor4D;
      const normed = this.attnNorm.forward(y) as tf.Tensor4D;
      const a =
        this.attn instanceof WindowAttention
          ? this.attn.forward(normed)
          : tf.reshape(this.attn.forward(tf.reshape(normed, [b, h * w, c])), [b, h, w, c]);
      y = tf.add(y, a) as tf.Tensor4D;
      y = tf.add(y, this.conv2.dw.forward(y)) as tf.Tensor4D;
      return tf.add(y, this.fc2.forward(gelu(this.fc1.forward(this.ffnNorm.forward(y))))) as tf.Tensor4D;
    });
  }
}

class PatchConv extends Node {
  readonly proj: Conv2d;
  readonly norm: LayerNorm;
  constructor(
    readonly stage: number,
    inC: number,
    outC: number,
    rng: Rng,
  ) {
    super();
    this.proj = this.add(
      'proj',
      stage === 0 ? new Conv2d(inC, outC, 7, 4, 3, false, rng) : new Conv2d(inC, outC, 3, 2, 1, false, rng),
    );
    this.norm = this.add('norm', new LayerNorm(stage === 0 ? outC : inC));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      this.stage === 0
        ? (this.norm.forward(this.proj.forward(x)) as tf.Tensor4D)
        : this.proj.forward(this.norm.forward(x) as tf.Tensor4D),
    );
  }
}

export class DaViT extends Module {
  readonly convs: ModuleList<PatchConv>;
  readonly blocks: ModuleList<ModuleList<Node>>;

  constructor(cfg: XvlaFlorenceConfig, rng: Rng) {
    super();
    this.convs = this.registerModule('convs', new ModuleList<PatchConv>());
    this.blocks = this.registerModule('blocks', new ModuleList<ModuleList<Node>>());
    cfg.stageDims.forEach((d, s) => {
      this.convs.push(new PatchConv(s, s === 0 ? 3 : cfg.stageDims[s - 1], d, rng));
      const stage = new ModuleList<Node>();
      for (let j = 0; j < cfg.stageDepths[s]; j++) {
        const unit = new Node();
        unit.add('spatial_block', new DavitBlock('spatial', d, cfg.stageHeads[s], cfg.windowSize, rng));
        unit.add('channel_block', new DavitBlock('channel', d, cfg.stageHeads[s], cfg.windowSize, rng));
        stage.push(unit);
      }
      this.blocks.push(stage);
    });
  }

  /** x [N, S, S, 3] (ImageNet-normalized) → [N, h, w, C_last] (no final norm: X-VLA deletes it) */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const outs = this.forwardStages(x);
      return outs[outs.length - 1];
    });
  }

  /** Every stage's output (after its patch conv and blocks), NHWC; the caller owns them. */
  forwardStages(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const outs: tf.Tensor4D[] = [];
      let y = x;
      for (let s = 0; s < this.convs.length; s++) {
        y = this.convs.at(s).forward(y);
        for (const unit of this.blocks.at(s)) {
          for (const [, blk] of unit.namedChildren()) y = (blk as DavitBlock).forward(y);
        }
        outs.push(y);
      }
      return outs;
    });
  }
}

class BartLayer extends Node {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly self_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;
  constructor(
    readonly dim: number,
    readonly heads: number,
    ffn: number,
    rng: Rng,
  ) {
    super();
    const a = this.add('self_attn', new Node());
    this.q_proj = a.add('q_proj', new Linear(dim, dim, { rng }));
    this.k_proj = a.add('k_proj', new Linear(dim, dim, { rng }));
    this.v_proj = a.add('v_proj', new Linear(dim, dim, { rng }));
    this.out_proj = a.add('out_proj', new Linear(dim, dim, { rng }));
    this.self_attn_layer_norm = this.add('self_attn_layer_norm', new LayerNorm(dim));
    this.fc1 = this.add('fc1', new Linear(dim, ffn, { rng }));
    this.fc2 = this.add('fc2', new Linear(ffn, dim, { rng }));
    this.final_layer_norm = this.add('final_layer_norm', new LayerNorm(dim));
  }

  /** Post-LN: h = LN(h + attn(h)); h = LN(h + fc2(gelu(fc1(h)))). x [B, T, d] */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, t, d] = x.shape;
      const dh = d / this.heads;
      const split = (y: tf.Tensor) => tf.transpose(tf.reshape(y, [b, t, this.heads, dh]), [0, 2, 1, 3]); // [B, Hd, T, Dh]
      const q = split(tf.mul(this.q_proj.forward(x), dh ** -0.5));
      const attn = tf.softmax(tf.matMul(q, split(this.k_proj.forward(x)), false, true)); // [B, Hd, T, T]
      const o = tf.reshape(tf.transpose(tf.matMul(attn, split(this.v_proj.forward(x))), [0, 2, 1, 3]), [
        b,
        t,
        d,
      ]);
      const h = this.self_attn_layer_norm.forward(tf.add(x, this.out_proj.forward(o)));
      return this.final_layer_norm.forward(tf.add(h, this.fc2.forward(gelu(this.fc1.forward(h)))));
    });
  }
}

/** ImageNet statistics (the CLIPImageProcessor of the X-VLA checkpoints). */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** images [..., 3] in [0, 1] → (x − mean) / std per channel: the `pixel_values` transformers' Florence-2 takes. */
export function imagenetNormalize(images: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(images, MEAN), STD));
}

export class Florence2Encoder extends Module implements VisionLanguageEncoder {
  readonly dim: number;
  readonly vision_tower: DaViT;
  readonly image_projection: tf.Variable;
  readonly image_proj_norm: LayerNorm;
  readonly rowEmbed: Embedding;
  readonly colEmbed: Embedding;
  readonly temporal: tf.Variable;
  readonly shared: Embedding;
  readonly embedPositions: Embedding;
  readonly layernormEmbedding: LayerNorm;
  readonly layers: ModuleList<BartLayer>;
  readonly grid: number;

  constructor(
    readonly config: XvlaFlorenceConfig,
    rng: Rng,
  ) {
    super();
    const c = config;
    const top = c.stageDims[3];
    this.dim = c.dim;
    this.grid = davitGrid(c.imageSize);
    this.vision_tower = this.registerModule('vision_tower', new DaViT(c, rng));
    this.image_projection = this.registerParameter('image_projection', () =>
      init.normal([top, c.dim], rng, { std: 0.02 }),
    ); // [in, out]
    this.image_proj_norm = this.registerModule('image_proj_norm', new LayerNorm(c.dim));
    const pos = this.registerModule('image_pos_embed', new Node());
    this.rowEmbed = pos.add('row_embeddings', new Embedding(50, top / 2, { rng }));
    this.colEmbed = pos.add('column_embeddings', new Embedding(50, top / 2, { rng }));
    const te = this.registerModule('visual_temporal_embed', new Node());
    // Interleaved sin/cos table; only row 0 ([0, 1, 0, 1, …]) is used with single frames.
    this.temporal = te.registerBuffer('pos_idx_to_embed', () =>
      sinusoidalEmbedding(
        Array.from({ length: 100 }, (_, i) => i),
        top,
        { interleave: true },
      ),
    );
    const lmRoot = this.registerModule('language_model', new Node());
    const lm = lmRoot.add('model', new Node());
    this.shared = lm.add('shared', new Embedding(c.vocabSize, c.dim, { rng }));
    const enc = lm.add('encoder', new Node());
    this.embedPositions = enc.add('embed_positions', new Embedding(c.bartPositions, c.dim, { rng }));
    this.layernormEmbedding = enc.add('layernorm_embedding', new LayerNorm(c.dim));
    this.layers = enc.add('layers', new ModuleList<BartLayer>());
    for (let i = 0; i < c.bartLayers; i++)
      this.layers.push(new BartLayer(c.dim, c.bartHeads, c.bartFfn, rng));
    lmRoot.registerBuffer('final_logits_bias', () => tf.zeros([1, c.vocabSize])); // unused, kept for the layout
  }

  /** images [N, S, S, 3] in [0, 1] → projected tokens [N, 1 + g², dim] (pooled token first). */
  imageTokens(images: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const n = images.shape[0] ?? 1;
      const g = this.grid;
      const top = this.config.stageDims[3];
      const x = imagenetNormalize(images) as tf.Tensor4D;
      const feat = this.vision_tower.forward(x); // [N, g, g, top]
      const idx = tf.range(0, g, 1, 'int32');
      const col = tf.broadcastTo(tf.reshape(this.colEmbed.forward(idx), [1, g, top / 2]), [g, g, top / 2]); // [h, w, ·] col_emb[w]
      const row = tf.broadcastTo(tf.reshape(this.rowEmbed.forward(idx), [g, 1, top / 2]), [g, g, top / 2]); // row_emb[h]
      const withPos = tf.add(feat, tf.concat([col, row], -1)); // + [col_emb[w] | row_emb[h]]
      const t0 = tf.slice(this.temporal, [0, 0], [1, top]); // temporal row 0
      const grid = tf.reshape(tf.add(withPos, t0), [n, g * g, top]); // [N, g², top]
      const seq = tf.concat([tf.mean(grid, 1, true), grid], 1); // [N, 1+g², top]
      const proj = tf.reshape(tf.matMul(tf.reshape(seq, [-1, top]), this.image_projection), [
        n,
        1 + g * g,
        this.dim,
      ]);
      return this.image_proj_norm.forward(proj);
    });
  }

  encode(images: tf.Tensor, viewMask: tf.Tensor, ids: tf.Tensor): VlFeatures {
    const c = this.config;
    const s = c.imageSize;
    if (images.rank !== 5 || images.shape[2] !== s || images.shape[3] !== s || images.shape[4] !== 3) {
      throw new Error(
        `Florence2Encoder: images must be [B, V, ${s}, ${s}, 3], got [${images.shape.join(', ')}]`,
      );
    }
    if (ids.rank !== 2 || ids.shape[1] !== c.contextLength) {
      throw new Error(`Florence2Encoder: ids must be [B, ${c.contextLength}], got [${ids.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const [b, v] = images.shape;
      const n = 1 + this.grid * this.grid;
      const all = this.imageTokens(tf.reshape(images, [b * v, s, s, 3])); // [B·V, n, dim]
      const keep = tf.reshape(tf.cast(viewMask, 'float32'), [b, v, 1, 1]); // padded views → zero features
      const views = tf.mul(tf.reshape(all, [b, v, n, c.dim]), keep); // [B, V, n, dim]
      const main = tf.reshape(tf.slice(views, [0, 0, 0, 0], [b, 1, n, c.dim]), [b, n, c.dim]);
      const x = tf.concat([main, this.shared.forward(ids)], 1); // [B, n + T, dim], no embedding scale
      const len = n + c.contextLength;
      let h = tf.add(x, this.embedPositions.forward(tf.range(2, len + 2, 1, 'int32'))); // BART offset 2
      h = this.layernormEmbedding.forward(h);
      for (const layer of this.layers) h = layer.forward(h);
      const aux = tf.reshape(tf.slice(views, [0, 1, 0, 0], [b, v - 1, n, c.dim]), [b, (v - 1) * n, c.dim]);
      return { vlm: h, aux };
    });
  }
}
