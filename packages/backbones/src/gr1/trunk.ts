/**
 * GR-1's causal trunk (GPT-2 layout, no absolute positions) over the context tokens of every history slot
 * followed by that slot's H query tokens:
 *
 *   slot 0: [c_0,0 … c_0,N−1  q_0,0 … q_0,H−1]  slot 1: [c_1,0 …]  …            T = L·(N+H) tokens
 *
 * Masking (research §1.5): token-level causal triangle, and no token attends to any other query token.
 * With `queryMask: 'gr1'` (GR-1's additive key mask) a query does not see itself either, so a query of
 * slot t reads exactly the context tokens of slots ≤ t (its own slot's among them, so no query row is
 * empty); with 'self' (the from-scratch presets: it trains much better there, see config.ts) it also
 * sees itself. Either way query read-outs are pure and a second query set never changes the first's
 * outputs. Keys of padded history slots are hidden as well.
 */
import { Dropout, LayerNorm, Module, type Rng, Transformer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import type { Context, QueryTrunk } from '../types.js';
import type { Gr1Config } from './config.js';

/** Additive [T, T] bias of the layout above: 0 = visible, −∞ = hidden. Cached per (L, N, H). */
const biasCache = new Map<string, Float32Array>();

export function gr1AttentionBias(
  slots: number,
  contextTokens: number,
  queries: number,
  queryMask: 'gr1' | 'self' = 'gr1',
): Float32Array {
  if (!(Number.isInteger(contextTokens) && contextTokens >= 1)) {
    // With no context token a query row would see no key at all.
    throw new Error(`gr1AttentionBias: contextTokens must be a positive integer, got ${contextTokens}`);
  }
  const key = `${slots}/${contextTokens}/${queries}/${queryMask}`;
  const hit = biasCache.get(key);
  if (hit) return hit;
  const per = contextTokens + queries;
  const t = slots * per;
  const values = new Float32Array(t * t);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      const keyIsQuery = j % per >= contextTokens;
      const visible = j <= i && (!keyIsQuery || (queryMask === 'self' && j === i));
      values[i * t + j] = visible ? 0 : -Infinity;
    }
  }
  biasCache.set(key, values);
  return values;
}

export class Gr1Trunk extends Module implements QueryTrunk {
  readonly dim: number;
  readonly queryMask: 'gr1' | 'self';
  readonly embed_ln: LayerNorm;
  readonly drop: Dropout;
  readonly gpt: Transformer;

  constructor(cfg: Gr1Config, depth: number, rng: Rng) {
    super();
    this.dim = cfg.dim;
    this.queryMask = cfg.queryMask ?? 'self';
    this.embed_ln = this.registerModule('embed_ln', new LayerNorm(cfg.dim));
    this.drop = this.registerModule('drop', new Dropout(cfg.dropout, { rng }));
    this.gpt = this.registerModule(
      'gpt',
      new Transformer({
        dim: cfg.dim,
        heads: cfg.heads,
        depth,
        mlpRatio: cfg.mlpRatio,
        // The causal structure comes from the bias below (it also hides query tokens).
        mode: 'bidirectional',
        activation: cfg.activation,
        dropout: cfg.dropout,
        fusedQkv: true,
        init: 'gpt2',
        rng,
      }),
    );
  }

  forward(context: Context, queries: tf.Tensor): tf.Tensor {
    const { tokens, historyMask } = context;
    if (tokens.rank !== 4 || tokens.shape[3] !== this.dim) {
      throw new Error(
        `Gr1Trunk: context tokens must be [B, L, N, ${this.dim}], got [${tokens.shape.join(', ')}]`,
      );
    }
    const [b, l, n, d] = tokens.shape;
    const perSlot = queries.rank === 2;
    const h = (perSlot ? queries.shape[0] : queries.shape[2]) ?? 0;
    const ok = perSlot
      ? queries.shape[1] === d
      : queries.rank === 4 && queries.shape[0] === b && queries.shape[1] === l && queries.shape[3] === d;
    if (!ok) {
      throw new Error(
        `Gr1Trunk: queries must be [H, ${d}] or [${b}, ${l}, H, ${d}], got [${queries.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const q = perSlot ? tf.broadcastTo(queries, [b, l, h, d]) : queries; // [B, L, H, d]
      const per = n + h;
      const t = l * per;
      const seq = tf.reshape(tf.concat([tokens, q], 2), [b, t, d]); // [B, L, N+H, d] → [B, T, d]
      const x = this.drop.forward(this.embed_ln.forward(seq));
      const bias = tf.tensor4d(gr1AttentionBias(l, n, h, this.queryMask), [1, 1, t, t]);
      const padded = tf.logicalNot(tf.cast(historyMask, 'bool')); // [B, L]
      const keyPaddingMask = tf.reshape(tf.tile(tf.expandDims(padded, 2), [1, 1, per]), [b, t]); // [B, L, N+H] → [B, T]
      const out = this.gpt.forward(x, { attnBias: bias, keyPaddingMask }); // [B, T, d]
      const slots = tf.reshape(out, [b, l, per, d]); // [B, L, N+H, d]
      return tf.slice(slots, [0, 0, n, 0], [b, l, h, d]); // [B, L, H, d] query read-outs
    });
  }
}
