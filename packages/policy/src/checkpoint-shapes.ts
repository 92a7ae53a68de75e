/**
 * Config ↔ weights check before a policy is built: every config field that sizes a parameter is compared
 * with the matching tensor's shape in the safetensors header (read without the data), so a config.json
 * that does not belong to its model.safetensors — say `dim: 8192` beside a small model — is refused,
 * naming the field, before gigabytes are allocated. The full shape check still happens in loadStateDict.
 */
import type { HeaderEntry } from '@anchor-refine/nn';
import type { AnyPolicyConfig } from './any.js';
import { isXvlaConfig } from './any.js';
import type { PolicyConfig } from './config.js';
import type { XvlaPolicyConfig } from './xvla/config.js';

/** `tensor`'s shape[axis] equals `value` (times shape[per] when `per` is given: a width ratio). */
interface DimRule {
  field: string;
  value: number;
  /** The field's own value when `value` is derived from it (shown in the error). */
  raw?: string;
  tensor: string;
  axis: number;
  per?: number;
}

/** `value` numbered children under `prefix` (`<prefix>.0.…`, `<prefix>.1.…`: blocks of a stack). */
interface CountRule {
  field: string;
  value: number;
  prefix: string;
}

type ShapeRule = DimRule | CountRule;

const patchDims = (patch: number) => 3 * patch * patch;
const vitTokens = (image: number, patch: number) => (image / patch) ** 2 + 1;

function gr1Rules(cfg: PolicyConfig): ShapeRule[] {
  const b = cfg.backbone.config;
  const v = b.vision;
  const r = b.resampler;
  const t = b.text;
  const trunk = (root: string, depth: number, depthField: string): ShapeRule[] => [
    { field: 'backbone.config.dim', value: b.dim, tensor: `${root}.trunk.embed_ln.weight`, axis: 0 },
    { field: depthField, value: depth, prefix: `${root}.trunk.gpt.blocks` },
    {
      field: 'backbone.config.mlpRatio',
      value: b.mlpRatio,
      tensor: `${root}.trunk.gpt.blocks.0.mlp.fc1.weight`,
      axis: 0,
      per: 1,
    },
    { field: 'backbone.config.horizon', value: b.horizon, tensor: `${root}.queries`, axis: 0 },
    { field: 'backbone.config.armDim', value: b.armDim, tensor: `${root}.head.arm.weight`, axis: 0 },
    { field: 'backbone.config.headHidden', value: b.headHidden, tensor: `${root}.head.fc1.weight`, axis: 0 },
  ];
  const vit = 'backbone.vision';
  return [
    ...trunk('anchor', cfg.anchor.depth, 'anchor.depth'),
    ...(cfg.refine.enabled ? trunk('refiner', cfg.refine.depth, 'refine.depth') : []),
    {
      field: 'backbone.config.stateDim',
      value: b.stateDim,
      tensor: 'backbone.embed_arm_state.weight',
      axis: 1,
    },
    { field: 'backbone.config.history', value: b.history, tensor: 'backbone.embed_timestep.weight', axis: 0 },
    { field: 'backbone.config.cameras', value: b.cameras.length, prefix: 'backbone.camera_embed' },
    { field: 'backbone.config.vision.dim', value: v.dim, tensor: `${vit}.patch_embed.weight`, axis: 0 },
    {
      field: 'backbone.config.vision.patchSize',
      value: patchDims(v.patchSize),
      raw: `${v.patchSize} (3·p² = ${patchDims(v.patchSize)} patch values)`,
      tensor: `${vit}.patch_embed.weight`,
      axis: 1,
    },
    {
      field: 'backbone.config.vision.imageSize',
      value: vitTokens(v.imageSize, v.patchSize),
      raw: `${v.imageSize} (${vitTokens(v.imageSize, v.patchSize)} tokens with the class token)`,
      tensor: `${vit}.pos_embed`,
      axis: 1,
    },
    { field: 'backbone.config.vision.depth', value: v.depth, prefix: `${vit}.encoder.blocks` },
    {
      field: 'backbone.config.vision.mlpRatio',
      value: v.mlpRatio,
      tensor: `${vit}.encoder.blocks.0.mlp.fc1.weight`,
      axis: 0,
      per: 1,
    },
    ...((v.keypoints ?? 0) > 0
      ? [
          {
            field: 'backbone.config.vision.keypoints',
            value: v.keypoints ?? 0,
            tensor: 'backbone.camera_embed.0.keypoints.to_logits.weight',
            axis: 0,
          },
        ]
      : []),
    { field: 'backbone.config.resampler.depth', value: r.depth, prefix: 'backbone.resampler.layers' },
    {
      field: 'backbone.config.resampler.numLatents',
      value: r.numLatents,
      tensor: 'backbone.resampler.latents',
      axis: 0,
    },
    {
      field: 'backbone.config.resampler.heads × dimHead',
      value: r.heads * r.dimHead,
      raw: `${r.heads} × ${r.dimHead}`,
      tensor: 'backbone.resampler.layers.0.attn.to_q.weight',
      axis: 0,
    },
    {
      field: 'backbone.config.resampler.ffMult',
      value: r.ffMult,
      tensor: 'backbone.resampler.layers.0.ff.fc1.weight',
      axis: 0,
      per: 1,
    },
    {
      field: 'backbone.config.text.vocabSize',
      value: t.vocabSize,
      tensor: 'backbone.text.token_embedding.weight',
      axis: 0,
    },
    {
      field: 'backbone.config.text.width',
      value: t.width,
      tensor: 'backbone.text.token_embedding.weight',
      axis: 1,
    },
    {
      field: 'backbone.config.text.contextLength',
      value: t.contextLength,
      tensor: 'backbone.text.positional_embedding',
      axis: 0,
    },
    { field: 'backbone.config.text.layers', value: t.layers, prefix: 'backbone.text.transformer.blocks' },
    {
      field: 'backbone.config.text.outDim',
      value: t.outDim,
      tensor: 'backbone.text.text_projection',
      axis: 1,
    },
  ];
}

function xvlaRules(cfg: XvlaPolicyConfig): ShapeRule[] {
  const b = cfg.backbone.config;
  const vl = b.vl;
  const transformer = (root: string, depth: number, depthField: string): ShapeRule[] => [
    { field: 'backbone.config.dim', value: b.dim, tensor: `${root}.norm.weight`, axis: 0 },
    { field: depthField, value: depth, prefix: `${root}.blocks` },
    {
      field: 'backbone.config.mlpRatio',
      value: b.mlpRatio,
      tensor: `${root}.blocks.0.mlp.fc1.weight`,
      axis: 0,
      per: 1,
    },
    { field: 'backbone.config.maxLenSeq', value: b.maxLenSeq, tensor: `${root}.pos_emb`, axis: 1 },
    {
      field: 'backbone.config.numDomains',
      value: b.numDomains,
      tensor: `${root}.soft_prompt_hub.weight`,
      axis: 0,
    },
    {
      field: 'backbone.config.softPromptLength',
      value: b.softPromptLength * b.dim,
      raw: `${b.softPromptLength} (× dim ${b.dim})`,
      tensor: `${root}.soft_prompt_hub.weight`,
      axis: 1,
    },
    {
      field: 'backbone.config.actionDim',
      value: b.actionDim,
      tensor: `${root}.action_decoder.bias.weight`,
      axis: 1,
    },
    { field: 'backbone.config.vl.dim', value: vl.dim, tensor: `${root}.vlm_proj.weight`, axis: 1 },
    {
      field: 'backbone.config.timeDim',
      value: (2 * b.actionDim + b.timeDim) * b.dim,
      raw: `${b.timeDim} (action encoder input (2·actionDim + timeDim) × dim = ${(2 * b.actionDim + b.timeDim) * b.dim})`,
      tensor: `${root}.action_encoder.fc.weight`,
      axis: 1,
    },
  ];
  const vlField = (f: string) => `backbone.config.vl.${f}`;
  const vlm = 'model.vlm';
  const vlRules: ShapeRule[] =
    vl.kind === 'small'
      ? [
          {
            field: vlField('visionDim'),
            value: vl.visionDim,
            tensor: `${vlm}.vision_tower.patch_embed.weight`,
            axis: 0,
          },
          {
            field: vlField('patchSize'),
            value: patchDims(vl.patchSize),
            raw: `${vl.patchSize} (3·p² = ${patchDims(vl.patchSize)} patch values)`,
            tensor: `${vlm}.vision_tower.patch_embed.weight`,
            axis: 1,
          },
          {
            field: vlField('imageSize'),
            value: vitTokens(vl.imageSize, vl.patchSize),
            raw: `${vl.imageSize} (${vitTokens(vl.imageSize, vl.patchSize)} tokens with the class token)`,
            tensor: `${vlm}.vision_tower.pos_embed`,
            axis: 1,
          },
          {
            field: vlField('visionDepth'),
            value: vl.visionDepth,
            prefix: `${vlm}.vision_tower.encoder.blocks`,
          },
          { field: vlField('dim'), value: vl.dim, tensor: `${vlm}.encoder.ln_f.weight`, axis: 0 },
          { field: vlField('textDepth'), value: vl.textDepth, prefix: `${vlm}.encoder.blocks` },
          {
            field: vlField('contextLength'),
            value: vitTokens(vl.imageSize, vl.patchSize) + vl.contextLength,
            raw: `${vl.contextLength} (+ ${vitTokens(vl.imageSize, vl.patchSize)} image tokens)`,
            tensor: `${vlm}.embed_positions`,
            axis: 0,
          },
        ]
      : [
          { field: vlField('stageDims'), value: vl.stageDims.length, prefix: `${vlm}.vision_tower.convs` },
          ...vl.stageDims.flatMap((d, s): ShapeRule[] => [
            {
              field: vlField(`stageDims[${s}]`),
              value: d,
              tensor: `${vlm}.vision_tower.convs.${s}.proj.bias`,
              axis: 0,
            },
            {
              field: vlField(`stageDepths[${s}]`),
              value: vl.stageDepths[s] ?? 0,
              prefix: `${vlm}.vision_tower.blocks.${s}`,
            },
          ]),
          { field: vlField('dim'), value: vl.dim, tensor: `${vlm}.image_projection`, axis: 1 },
          {
            field: vlField('vocabSize'),
            value: vl.vocabSize,
            tensor: `${vlm}.language_model.model.shared.weight`,
            axis: 0,
          },
          {
            field: vlField('bartPositions'),
            value: vl.bartPositions,
            tensor: `${vlm}.language_model.model.encoder.embed_positions.weight`,
            axis: 0,
          },
          {
            field: vlField('bartLayers'),
            value: vl.bartLayers,
            prefix: `${vlm}.language_model.model.encoder.layers`,
          },
          {
            field: vlField('bartFfn'),
            value: vl.bartFfn,
            tensor: `${vlm}.language_model.model.encoder.layers.0.fc1.weight`,
            axis: 0,
          },
        ];
  return [
    ...transformer('model.transformer', b.depth, 'backbone.config.depth'),
    ...(cfg.refine.enabled ? transformer('refiner', cfg.refine.depth, 'refine.depth') : []),
    ...vlRules,
  ];
}

/** The shape rules of a config: which header tensor each size-bearing field must agree with. */
export function configShapeRules(cfg: AnyPolicyConfig): ShapeRule[] {
  return isXvlaConfig(cfg) ? xvlaRules(cfg) : gr1Rules(cfg);
}

/** Number of distinct `<prefix>.<i>.…` children. */
function countChildren(names: readonly string[], prefix: string): number {
  const seen = new Set<string>();
  const start = `${prefix}.`;
  for (const n of names) {
    if (!n.startsWith(start)) continue;
    const i = n.slice(start.length).split('.', 1)[0] ?? '';
    if (/^\d+$/.test(i)) seen.add(i);
  }
  return seen.size;
}

/**
 * Checks `cfg` against the tensors listed in a safetensors header; throws an error naming the first
 * config field that disagrees (and the tensor that says so). Allocates nothing but the name list.
 */
export function checkConfigAgainstHeader(cfg: AnyPolicyConfig, entries: readonly HeaderEntry[]): void {
  const shapes = new Map(entries.map((e) => [e.name, e.shape]));
  const names = [...shapes.keys()];
  for (const rule of configShapeRules(cfg)) {
    if ('prefix' in rule) {
      const found = countChildren(names, rule.prefix);
      if (found !== rule.value) {
        throw new Error(
          `config field ${rule.field} asks for ${rule.value} but the weights hold ${found} (${rule.prefix}.0…${Math.max(0, found - 1)}); config.json does not belong to these weights`,
        );
      }
      continue;
    }
    const shape = shapes.get(rule.tensor);
    if (shape === undefined) {
      throw new Error(
        `the weights have no tensor ${rule.tensor}, which config field ${rule.field} sizes; config.json does not belong to these weights`,
      );
    }
    const dim = shape[rule.axis];
    const per = rule.per === undefined ? 1 : shape[rule.per];
    const expected = rule.value * (per ?? Number.NaN);
    if (dim !== expected) {
      const what =
        rule.per === undefined
          ? (rule.raw ?? `${rule.value}`)
          : `${rule.value} (× ${per} = ${expected}; the weights' ratio is ${dim !== undefined && per ? dim / per : '?'})`;
      throw new Error(
        `config field ${rule.field} = ${what} does not match tensor ${rule.tensor} of shape [${shape.join(', ')}] (axis ${rule.axis}); config.json does not belong to these weights`,
      );
    }
  }
}
