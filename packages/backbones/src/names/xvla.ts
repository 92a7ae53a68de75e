/**
 * X-VLA checkpoint names (research/xvla.md §3). Our `XvlaModel` registers the upstream names for the whole
 * `transformer.*` side, so that part of the map is the identity (plus LeRobot's `model.` prefix). The
 * Florence-2 `vlm.*` side is described by `xvlaOfficialShapes` and LeRobot's renames by `lerobotXvlaName`;
 * with the small stand-in encoder the checkpoint's `vlm.*` tensors are reported as ignored.
 */
import type { Module } from '@anchor-refine/nn';
import type { XvlaConfig } from '../xvla/config.js';
import { EE6D_DIM } from '../xvla/ee6d.js';
import type { NameEntry, NameMap } from './map.js';

/** 'upstream': 2toINF/X-VLA-* model.safetensors; 'lerobot': lerobot/xvla-* (same names under `model.`). */
export type XvlaCheckpointFlavor = 'upstream' | 'lerobot';

export interface XvlaNameMapOptions {
  flavor?: XvlaCheckpointFlavor;
  /** Where the XvlaModel sits inside `module` (e.g. 'model.' in the X-VLA AnchorRefine policy); default ''. */
  ourPrefix?: string;
}

/**
 * The map for `module` (an XvlaModel, or a module holding one at ourPrefix): every `transformer.*` tensor,
 * and every `vlm.*` tensor when the model runs the Florence-2 encoder (its names are the upstream ones;
 * LeRobot's are derived with `lerobotXvlaName`). With the small encoder the checkpoint's `vlm.*` is ignored.
 */
export function xvlaNameMap(module: Module, opts: XvlaNameMapOptions = {}): NameMap {
  const flavor = opts.flavor ?? 'upstream';
  const ours = opts.ourPrefix ?? '';
  const names = [...module.stateDict().keys()];
  const florence = names.includes(`${ours}vlm.language_model.model.shared.weight`);
  const entries: NameEntry[] = [];
  for (const n of names) {
    const up = n.slice(ours.length);
    if (!n.startsWith(ours) || !(up.startsWith('transformer.') || (florence && up.startsWith('vlm.'))))
      continue;
    if (flavor === 'upstream') {
      entries.push({ official: up, ours: n, transform: 'none' });
      continue;
    }
    const lr = lerobotXvlaName(up);
    if (lr) entries.push({ official: lr.name, ours: n, transform: lr.transposed ? 'transpose' : 'none' });
  }
  const pre = flavor === 'lerobot' ? 'model.' : '';
  const shared =
    flavor === 'lerobot'
      ? 'model.vlm.language_model.shared.weight'
      : 'vlm.language_model.model.shared.weight';
  return {
    entries,
    ignore: florence
      ? [/^(model\.)?vlm\.language_model\.final_logits_bias$/]
      : [new RegExp(`^${pre.replace('.', '\\.')}vlm\\.`)],
    // BART ties encoder.embed_tokens to shared; a checkpoint may store either
    aliases: { [shared]: [shared.replace(/shared\.weight$/, 'encoder.embed_tokens.weight')] },
  };
}

/**
 * An upstream name → LeRobot's native layout (transformers ≥ 5 Florence2Model), with `model.` prefix.
 * `transposed` is true for image_projection, stored [in, out] upstream and as a Linear [out, in] in LeRobot.
 * Returns undefined for tensors LeRobot drops (final_logits_bias).
 */
export function lerobotXvlaName(upstream: string): { name: string; transposed: boolean } | undefined {
  if (upstream === 'vlm.language_model.final_logits_bias') return undefined;
  if (upstream === 'vlm.image_projection') {
    return { name: 'model.vlm.multi_modal_projector.image_projection.weight', transposed: true };
  }
  let n = upstream;
  if (n.startsWith('vlm.')) {
    n = n
      .replace(/(convs\.\d+)\.proj\./, '$1.conv.')
      .replace(/\.(conv[12])\.fn\.dw\./, '.$1.')
      .replace(/\.(window_attn|channel_attn)\.norm\./, '.norm1.')
      .replace(/\.(window_attn|channel_attn)\.fn\./, '.$1.')
      .replace(/\.ffn\.norm\./, '.norm2.')
      .replace(/\.ffn\.fn\.net\./, '.ffn.')
      .replace(/^vlm\.image_proj_norm\./, 'vlm.multi_modal_projector.image_proj_norm.')
      .replace(/^vlm\.image_pos_embed\./, 'vlm.multi_modal_projector.image_position_embed.')
      .replace(/^vlm\.visual_temporal_embed\./, 'vlm.multi_modal_projector.visual_temporal_embed.')
      .replace(/^vlm\.language_model\.model\./, 'vlm.language_model.');
  }
  return { name: `model.${n}`, transposed: false };
}

/**
 * Every tensor of an upstream X-VLA checkpoint with its shape, for a config whose `vl` is Florence-2
 * (preset 'paper': 901 parameters + 2 buffers, 879.7 M values). Torch Linear weights are [out, in].
 */
export function xvlaOfficialShapes(cfg: XvlaConfig): Map<string, number[]> {
  const v = cfg.vl;
  if (v.kind !== 'florence2')
    throw new Error("xvlaOfficialShapes: needs a Florence-2 config (preset 'paper')");
  const s = new Map<string, number[]>();
  const lin = (n: string, o: number, i: number, bias = true) => {
    s.set(`${n}.weight`, [o, i]);
    if (bias) s.set(`${n}.bias`, [o]);
  };
  const ln = (n: string, d: number) => {
    s.set(`${n}.weight`, [d]);
    s.set(`${n}.bias`, [d]);
  };
  const vt = 'vlm.vision_tower';
  v.stageDims.forEach((d, st) => {
    const cin = st === 0 ? 3 : v.stageDims[st - 1];
    const k = st === 0 ? 7 : 3;
    s.set(`${vt}.convs.${st}.proj.weight`, [d, cin, k, k]);
    s.set(`${vt}.convs.${st}.proj.bias`, [d]);
    ln(`${vt}.convs.${st}.norm`, st === 0 ? d : cin); // stage 0 norms after the conv, others before it
    for (let j = 0; j < v.stageDepths[st]; j++) {
      for (const [blk, attn] of [
        ['spatial_block', 'window_attn'],
        ['channel_block', 'channel_attn'],
      ]) {
        const p = `${vt}.blocks.${st}.${j}.${blk}`;
        for (const c of ['conv1', 'conv2']) {
          s.set(`${p}.${c}.fn.dw.weight`, [d, 1, 3, 3]);
          s.set(`${p}.${c}.fn.dw.bias`, [d]);
        }
        ln(`${p}.${attn}.norm`, d);
        lin(`${p}.${attn}.fn.qkv`, 3 * d, d);
        lin(`${p}.${attn}.fn.proj`, d, d);
        ln(`${p}.ffn.norm`, d);
        lin(`${p}.ffn.fn.net.fc1`, 4 * d, d);
        lin(`${p}.ffn.fn.net.fc2`, d, 4 * d);
      }
    }
  });
  const top = v.stageDims[3];
  s.set('vlm.image_projection', [top, v.dim]); // [in, out]
  ln('vlm.image_proj_norm', v.dim);
  s.set('vlm.image_pos_embed.row_embeddings.weight', [50, top / 2]);
  s.set('vlm.image_pos_embed.column_embeddings.weight', [50, top / 2]);
  s.set('vlm.visual_temporal_embed.pos_idx_to_embed', [100, top]); // buffer
  const lm = 'vlm.language_model.model';
  s.set(`${lm}.shared.weight`, [v.vocabSize, v.dim]);
  s.set(`${lm}.encoder.embed_positions.weight`, [v.bartPositions, v.dim]);
  ln(`${lm}.encoder.layernorm_embedding`, v.dim);
  for (let i = 0; i < v.bartLayers; i++) {
    const p = `${lm}.encoder.layers.${i}`;
    for (const q of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) lin(`${p}.self_attn.${q}`, v.dim, v.dim);
    ln(`${p}.self_attn_layer_norm`, v.dim);
    lin(`${p}.fc1`, v.bartFfn, v.dim);
    lin(`${p}.fc2`, v.dim, v.bartFfn);
    ln(`${p}.final_layer_norm`, v.dim);
  }
  s.set('vlm.language_model.final_logits_bias', [1, v.vocabSize]); // buffer
  const d = cfg.dim;
  for (let i = 0; i < cfg.depth; i++) {
    const p = `transformer.blocks.${i}`;
    ln(`${p}.norm1`, d);
    lin(`${p}.attn.qkv`, 3 * d, d);
    lin(`${p}.attn.proj`, d, d);
    ln(`${p}.norm2`, d);
    lin(`${p}.mlp.fc1`, Math.round(d * cfg.mlpRatio), d);
    lin(`${p}.mlp.fc2`, d, Math.round(d * cfg.mlpRatio));
  }
  lin('transformer.vlm_proj', d, v.dim);
  lin('transformer.aux_visual_proj', d, v.dim);
  s.set('transformer.pos_emb', [1, cfg.maxLenSeq, d]);
  ln('transformer.norm', d);
  s.set('transformer.action_encoder.fc.weight', [cfg.numDomains, (2 * EE6D_DIM + cfg.timeDim) * d]);
  s.set('transformer.action_encoder.bias.weight', [cfg.numDomains, d]);
  s.set('transformer.action_decoder.fc.weight', [cfg.numDomains, d * EE6D_DIM]);
  s.set('transformer.action_decoder.bias.weight', [cfg.numDomains, EE6D_DIM]);
  s.set('transformer.soft_prompt_hub.weight', [cfg.numDomains, cfg.softPromptLength * d]);
  return s;
}
