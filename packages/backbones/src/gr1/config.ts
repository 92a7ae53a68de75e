/**
 * GR-1 configuration and its three presets. Field reasons sit beside the non-obvious defaults; the
 * `paper` numbers come from ByteDance's released CALVIN config (research/gr1-libero-calvin.md §1.1).
 */
import type { ActivationName } from '@anchor-refine/nn';

export interface Gr1VisionConfig {
  imageSize: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  /** LayerNorm eps: 1e-6 in the MAE/DINO ViT GR-1 loads. */
  eps: number;
  /** Frozen in every phase: true when a pretrained MAE is loaded (GR-1), false when trained from scratch. */
  frozen: boolean;
  /**
   * Initial patch position table. 'learned' (absent = this): truncated normal, std 0.02, as the ViT
   * GR-1 loads stores it. 'sincos': MAE's fixed 2-D sine-cosine table as the starting value (still
   * trained), so a ViT trained from scratch knows where each patch is from step 0.
   */
  posEmbed?: 'learned' | 'sincos';
  /**
   * Spatial-softmax keypoints per camera (keypoints.ts): K expected patch coordinates as one extra
   * context token per camera. 0 / absent: none (GR-1's layout).
   */
  keypoints?: number;
}

export interface Gr1ResamplerConfig {
  depth: number;
  heads: number;
  dimHead: number;
  numLatents: number;
  ffMult: number;
}

export interface Gr1TextConfig {
  /** 'byte': UTF-8 bytes + specials, no download (tiny/small). 'clip': OpenAI CLIP BPE shapes (paper). */
  tokenizer: 'byte' | 'clip';
  vocabSize: number;
  contextLength: number;
  width: number;
  layers: number;
  heads: number;
  /** Projection width (CLIP's text_projection; 512 for ViT-B/32). */
  outDim: number;
  /** 'quick_gelu' for CLIP weights. */
  activation: ActivationName;
  frozen: boolean;
}

export interface Gr1Config {
  cameras: string[];
  vision: Gr1VisionConfig;
  resampler: Gr1ResamplerConfig;
  text: Gr1TextConfig;
  /** Arm proprioception channels (gripper excluded; it enters as a one-hot). */
  stateDim: number;
  /** Arm action channels D−1 (the gripper channel is separate). */
  armDim: number;
  /** Observation history L (GR-1: 10 on CALVIN). */
  history: number;
  /** Action chunk length H (one query token per chunk step). */
  horizon: number;
  /** Trunk width d (GR-1: 384). */
  dim: number;
  /** Anchor trunk depth (GR-1: 12; the "deeper anchor" ablation uses 18). */
  depth: number;
  heads: number;
  mlpRatio: number;
  /** GR-1's GPT-2 fork uses ReLU; GELU trains faster from scratch at small widths. */
  activation: ActivationName;
  dropout: number;
  /** Width of the two-layer read-out (GR-1: d/2 = 192). */
  headHidden: number;
  /** GR-1 applies no activation inside its action head (needed to load its weights). */
  headActivation: 'none' | 'relu' | 'gelu';
  /**
   * What a query token sees among the query tokens. 'gr1': none of them, itself included (GR-1's key
   * mask; needed to load its weights). 'self': also itself. Nothing ever attends to another query token.
   * The from-scratch presets use 'self': measured on the sim demo's data (100 demos/task, 4000 steps),
   * held-out loss 0.21 with 'self' vs 0.33 with 'gr1', and closed-loop success fell from ~36 % to ~3 %.
   * Absent in a checkpoint's config.json (written before this field) means 'self'.
   */
  queryMask?: 'gr1' | 'self';
}

export type Gr1Preset = 'tiny' | 'small' | 'paper';

const TINY: Gr1Config = {
  cameras: ['front', 'wrist'],
  vision: { imageSize: 32, patchSize: 8, dim: 32, depth: 1, heads: 2, mlpRatio: 2, eps: 1e-6, frozen: false },
  resampler: { depth: 1, heads: 2, dimHead: 16, numLatents: 2, ffMult: 2 },
  text: {
    tokenizer: 'byte',
    vocabSize: 259,
    contextLength: 32,
    width: 32,
    layers: 1,
    heads: 2,
    outDim: 32,
    activation: 'gelu',
    frozen: false,
  },
  stateDim: 3,
  armDim: 3,
  history: 2,
  horizon: 5,
  dim: 32,
  depth: 2,
  heads: 2,
  mlpRatio: 4,
  activation: 'gelu',
  dropout: 0,
  headHidden: 32,
  headActivation: 'gelu',
  queryMask: 'self',
};

const SMALL: Gr1Config = {
  cameras: ['front', 'wrist'],
  // 96×96 with 16-px patches: 36 patches per image, enough for object positions at SO-101 scale.
  vision: {
    imageSize: 96,
    patchSize: 16,
    dim: 128,
    depth: 2,
    heads: 4,
    mlpRatio: 2,
    eps: 1e-6,
    frozen: false,
  },
  resampler: { depth: 1, heads: 4, dimHead: 32, numLatents: 4, ffMult: 2 },
  text: {
    tokenizer: 'byte',
    vocabSize: 259,
    contextLength: 48,
    width: 64,
    layers: 1,
    heads: 2,
    outDim: 64,
    activation: 'gelu',
    frozen: false,
  },
  stateDim: 5,
  armDim: 5,
  history: 2,
  horizon: 10,
  dim: 128,
  depth: 4,
  heads: 4,
  mlpRatio: 4,
  activation: 'gelu',
  dropout: 0,
  headHidden: 128,
  headActivation: 'gelu',
  queryMask: 'self',
};

const PAPER: Gr1Config = {
  cameras: ['static', 'hand'],
  // MAE ViT-B/16 at 224 px (frozen, loaded from a local folder).
  vision: {
    imageSize: 224,
    patchSize: 16,
    dim: 768,
    depth: 12,
    heads: 12,
    mlpRatio: 4,
    eps: 1e-6,
    frozen: true,
  },
  resampler: { depth: 3, heads: 4, dimHead: 128, numLatents: 9, ffMult: 4 },
  // CLIP ViT-B/32 text tower (frozen).
  text: {
    tokenizer: 'clip',
    vocabSize: 49408,
    contextLength: 77,
    width: 512,
    layers: 12,
    heads: 8,
    outDim: 512,
    activation: 'quick_gelu',
    frozen: true,
  },
  stateDim: 6,
  armDim: 6,
  history: 10,
  horizon: 10,
  dim: 384,
  depth: 12,
  heads: 12,
  mlpRatio: 4,
  activation: 'relu',
  dropout: 0.1,
  headHidden: 192,
  headActivation: 'none',
  queryMask: 'gr1',
};

const PRESETS: Record<Gr1Preset, Gr1Config> = { tiny: TINY, small: SMALL, paper: PAPER };

/** A deep copy of a preset, optionally with top-level fields replaced. */
export function gr1Config(preset: Gr1Preset, overrides: Partial<Gr1Config> = {}): Gr1Config {
  const base = PRESETS[preset];
  if (base === undefined)
    throw new Error(`gr1Config: unknown preset '${String(preset)}' (tiny | small | paper)`);
  const cfg = { ...structuredClone(base), ...structuredClone(overrides) };
  validateGr1Config(cfg);
  return cfg;
}

function positiveInt(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`gr1 config: ${path} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/** Throws an error naming the field and how to fix it. */
export function validateGr1Config(cfg: Gr1Config): void {
  if (
    !Array.isArray(cfg.cameras) ||
    cfg.cameras.length === 0 ||
    new Set(cfg.cameras).size !== cfg.cameras.length
  ) {
    throw new Error(
      'gr1 config: cameras must be a non-empty list of distinct names, e.g. ["front", "wrist"]',
    );
  }
  for (const k of [
    'stateDim',
    'armDim',
    'history',
    'horizon',
    'dim',
    'depth',
    'heads',
    'headHidden',
  ] as const) {
    positiveInt(k, cfg[k]);
  }
  const v = cfg.vision;
  for (const k of ['imageSize', 'patchSize', 'dim', 'depth', 'heads'] as const)
    positiveInt(`vision.${k}`, v[k]);
  if (v.imageSize % v.patchSize !== 0) {
    throw new Error(
      `gr1 config: vision.imageSize (${v.imageSize}) must be a multiple of vision.patchSize (${v.patchSize})`,
    );
  }
  if (v.dim % v.heads !== 0) throw new Error(`gr1 config: vision.dim (${v.dim}) must divide by vision.heads`);
  if (v.posEmbed !== undefined && v.posEmbed !== 'learned' && v.posEmbed !== 'sincos') {
    throw new Error(`gr1 config: vision.posEmbed must be 'learned' or 'sincos', got '${String(v.posEmbed)}'`);
  }
  if (v.posEmbed === 'sincos' && v.dim % 4 !== 0) {
    throw new Error(`gr1 config: vision.posEmbed 'sincos' needs vision.dim divisible by 4, got ${v.dim}`);
  }
  if (v.keypoints !== undefined && !(Number.isInteger(v.keypoints) && v.keypoints >= 0)) {
    throw new Error(
      `gr1 config: vision.keypoints must be a non-negative integer (0 = off), got ${JSON.stringify(v.keypoints)}`,
    );
  }
  const r = cfg.resampler;
  for (const k of ['depth', 'heads', 'dimHead', 'numLatents', 'ffMult'] as const)
    positiveInt(`resampler.${k}`, r[k]);
  const t = cfg.text;
  for (const k of ['vocabSize', 'contextLength', 'width', 'layers', 'heads', 'outDim'] as const) {
    positiveInt(`text.${k}`, t[k]);
  }
  if (t.tokenizer !== 'byte' && t.tokenizer !== 'clip') {
    throw new Error(`gr1 config: text.tokenizer must be 'byte' or 'clip', got '${String(t.tokenizer)}'`);
  }
  if (t.tokenizer === 'byte' && t.vocabSize < 259) {
    throw new Error(
      'gr1 config: text.vocabSize must be ≥ 259 for the byte tokenizer (256 bytes + PAD, BOS, EOS)',
    );
  }
  if (t.width % t.heads !== 0)
    throw new Error(`gr1 config: text.width (${t.width}) must divide by text.heads`);
  if (cfg.dim % cfg.heads !== 0)
    throw new Error(`gr1 config: dim (${cfg.dim}) must divide by heads (${cfg.heads})`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw new Error(`gr1 config: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (cfg.queryMask !== undefined && cfg.queryMask !== 'gr1' && cfg.queryMask !== 'self') {
    throw new Error(`gr1 config: queryMask must be 'gr1' or 'self', got '${String(cfg.queryMask)}'`);
  }
  if (!['none', 'relu', 'gelu'].includes(cfg.headActivation)) {
    throw new Error(
      `gr1 config: headActivation must be 'none', 'relu' or 'gelu', got '${cfg.headActivation}'`,
    );
  }
}
