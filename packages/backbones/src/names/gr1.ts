/**
 * GR-1 checkpoint names (research/gr1-libero-calvin.md §2) ↔ AnchorRefinePolicy's GR-1 names.
 * GPT-2 Conv1D weights are stored [in, out] and are transposed into our Linear [out, in]; `c_attn` holds
 * q | k | v concatenated along its output, the same order as our fused `qkv`, so a transpose suffices.
 */
import type { Gr1Config } from '../gr1/config.js';
import type { NameEntry, NameMap } from './map.js';

export interface Gr1NamePrefixes {
  /** Where the backbone lives in our module (AnchorRefinePolicy: 'backbone.'). */
  backbone: string;
  /** The anchor planner (AnchorRefinePolicy: 'anchor.'; its trunk, head and queries live under it). */
  anchor: string;
}

export interface Gr1NameMapOptions {
  prefixes?: Gr1NamePrefixes;
  /** Map the frozen MAE ViT saved as `model_mae.*` (true) or leave the vision tower out (false). */
  includeMae?: boolean;
  /**
   * Map the frozen CLIP text tower saved as `model_clip.*` (OpenAI CLIP names; true) or ignore every
   * `model_clip.*` tensor (false). CLIP's unused vision tower (`model_clip.visual.*`) and `logit_scale`
   * are ignored either way.
   */
  includeClip?: boolean;
}

const POLICY_PREFIXES: Gr1NamePrefixes = { backbone: 'backbone.', anchor: 'anchor.' };

export function gr1NameMap(cfg: Gr1Config, opts: Gr1NameMapOptions = {}): NameMap {
  const { backbone: bb, anchor: an } = opts.prefixes ?? POLICY_PREFIXES;
  const entries: NameEntry[] = [];
  const same = (official: string, ours: string) => entries.push({ official, ours, transform: 'none' });
  const conv1d = (official: string, ours: string) => entries.push({ official, ours, transform: 'transpose' });
  const linear = (official: string, ours: string, bias = true) => {
    same(`${official}.weight`, `${ours}.weight`);
    if (bias) same(`${official}.bias`, `${ours}.bias`);
  };
  const d = cfg.dim;
  // GPT-2 trunk
  for (let i = 0; i < cfg.depth; i++) {
    const o = `transformer.h.${i}`;
    const m = `${an}trunk.gpt.blocks.${i}`;
    linear(`${o}.ln_1`, `${m}.ln_1`);
    conv1d(`${o}.attn.c_attn.weight`, `${m}.attn.qkv.weight`);
    same(`${o}.attn.c_attn.bias`, `${m}.attn.qkv.bias`);
    conv1d(`${o}.attn.c_proj.weight`, `${m}.attn.out_proj.weight`);
    same(`${o}.attn.c_proj.bias`, `${m}.attn.out_proj.bias`);
    linear(`${o}.ln_2`, `${m}.ln_2`);
    conv1d(`${o}.mlp.c_fc.weight`, `${m}.mlp.fc1.weight`);
    same(`${o}.mlp.c_fc.bias`, `${m}.mlp.fc1.bias`);
    conv1d(`${o}.mlp.c_proj.weight`, `${m}.mlp.fc2.weight`);
    same(`${o}.mlp.c_proj.bias`, `${m}.mlp.fc2.bias`);
  }
  linear('transformer.ln_f', `${an}trunk.gpt.ln_f`);
  linear('embed_ln', `${an}trunk.embed_ln`);
  // Perceiver resampler (flamingo layout: layers.i.0 = attention, layers.i.1 = Sequential(LN, Linear, GELU, Linear))
  same('perceiver_resampler.latents', `${bb}resampler.latents`);
  same('perceiver_resampler.media_pos_emb', `${bb}resampler.media_pos_emb`);
  for (let i = 0; i < cfg.resampler.depth; i++) {
    const o = `perceiver_resampler.layers.${i}`;
    const m = `${bb}resampler.layers.${i}`;
    linear(`${o}.0.norm_media`, `${m}.attn.norm_media`);
    linear(`${o}.0.norm_latents`, `${m}.attn.norm_latents`);
    linear(`${o}.0.to_q`, `${m}.attn.to_q`, false);
    linear(`${o}.0.to_kv`, `${m}.attn.to_kv`, false);
    linear(`${o}.0.to_out`, `${m}.attn.to_out`, false);
    linear(`${o}.1.0`, `${m}.ff.norm`);
    linear(`${o}.1.1`, `${m}.ff.fc1`, false);
    linear(`${o}.1.3`, `${m}.ff.fc2`, false);
  }
  linear('perceiver_resampler.norm', `${bb}resampler.norm`);
  // Embeddings; GR-1's two cameras are static (index 0) and hand (index 1)
  for (const n of ['embed_arm_state', 'embed_gripper_state', 'embed_state', 'embed_lang'])
    linear(n, `${bb}${n}`);
  same('embed_timestep.weight', `${bb}embed_timestep.weight`);
  linear('embed_img', `${bb}camera_embed.0.embed_cls`);
  linear('embed_patch', `${bb}camera_embed.0.embed_patch`);
  if (cfg.cameras.length > 1) {
    linear('embed_hand_img', `${bb}camera_embed.1.embed_cls`);
    linear('embed_hand_patch', `${bb}camera_embed.1.embed_patch`);
  }
  // One [ACT] query → H chunk queries; the head
  entries.push({
    official: 'action_queries.weight',
    ours: `${an}queries`,
    transform: 'tileRows',
    officialShape: [1, d],
  });
  linear('pred_act_mlps.0', `${an}head.fc1`);
  linear('pred_act_mlps.1', `${an}head.fc2`);
  linear('pred_arm_act', `${an}head.arm`);
  linear('pred_gripper_act', `${an}head.scalar`);
  if (opts.includeMae ?? true) {
    const v = cfg.vision;
    const o = 'model_mae';
    const m = `${bb}vision`;
    same(`${o}.cls_token`, `${m}.cls_token`);
    same(`${o}.pos_embed`, `${m}.pos_embed`);
    entries.push({
      official: `${o}.patch_embed.proj.weight`,
      ours: `${m}.patch_embed.weight`,
      transform: 'reshape',
      officialShape: [v.dim, 3, v.patchSize, v.patchSize], // [o, c, kh, kw] ↔ our [o, c·kh·kw]
    });
    same(`${o}.patch_embed.proj.bias`, `${m}.patch_embed.bias`);
    for (let i = 0; i < v.depth; i++) {
      const ob = `${o}.blocks.${i}`;
      const mb = `${m}.encoder.blocks.${i}`;
      linear(`${ob}.norm1`, `${mb}.ln_1`);
      linear(`${ob}.attn.qkv`, `${mb}.attn.qkv`);
      linear(`${ob}.attn.proj`, `${mb}.attn.out_proj`);
      linear(`${ob}.norm2`, `${mb}.ln_2`);
      linear(`${ob}.mlp.fc1`, `${mb}.mlp.fc1`);
      linear(`${ob}.mlp.fc2`, `${mb}.mlp.fc2`);
    }
    linear(`${o}.norm`, `${m}.encoder.ln_f`);
  }
  const includeClip = opts.includeClip ?? true;
  if (includeClip) {
    // OpenAI CLIP text tower (clip/model.py): nn.MultiheadAttention's in_proj = q | k | v along the output
    // (our fused qkv order), plain nn.Linear MLP, `x @ text_projection` with text_projection [width, out]
    // (our layout too).
    const o = 'model_clip';
    const m = `${bb}text`;
    same(`${o}.token_embedding.weight`, `${m}.token_embedding.weight`);
    same(`${o}.positional_embedding`, `${m}.positional_embedding`);
    for (let i = 0; i < cfg.text.layers; i++) {
      const ob = `${o}.transformer.resblocks.${i}`;
      const mb = `${m}.transformer.blocks.${i}`;
      linear(`${ob}.ln_1`, `${mb}.ln_1`);
      same(`${ob}.attn.in_proj_weight`, `${mb}.attn.qkv.weight`);
      same(`${ob}.attn.in_proj_bias`, `${mb}.attn.qkv.bias`);
      linear(`${ob}.attn.out_proj`, `${mb}.attn.out_proj`);
      linear(`${ob}.ln_2`, `${mb}.ln_2`);
      linear(`${ob}.mlp.c_fc`, `${mb}.mlp.fc1`);
      linear(`${ob}.mlp.c_proj`, `${mb}.mlp.fc2`);
    }
    linear(`${o}.ln_final`, `${m}.transformer.ln_f`);
    same(`${o}.text_projection`, `${m}.text_projection`);
  }
  return {
    entries,
    ignore: [
      /^transformer\.wte\./, // unused token table
      /^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/, // causal-mask buffers of old transformers
      /^(obs_queries|obs_hand_queries|mask_token)\b/, // video-prediction queries
      /^decoder_/, // MAE-style video decoder (not built here)
      // CLIP's unused image tower and contrastive temperature (+ the ints old JIT exports keep); with
      // includeClip false, the whole CLIP model
      includeClip
        ? /^model_clip\.(visual\.|logit_scale$|input_resolution$|context_length$|vocab_size$)/
        : /^model_clip\./,
    ],
  };
}
