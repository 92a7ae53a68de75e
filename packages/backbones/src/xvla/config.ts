/**
 * X-VLA configuration (research/xvla.md §1.3, §2) and its three presets. `paper` holds the released
 * checkpoints' shapes; `tiny` / `small` swap the Florence-2 encoder for a small ViT + text transformer.
 */

/** Memory order of the two rotation-matrix columns inside the 6 rotation channels (research §2.3). */
export type Rot6dOrder = 'interleaved' | 'contiguous';

/** 'x0': the released code (the net predicts the clean chunk); 'velocity': the paper's rectified flow. */
export type FlowObjective = 'x0' | 'velocity';

/** The small stand-in encoder: ViT over each view, projector, and a joint image+text transformer. */
export interface XvlaSmallVlConfig {
  kind: 'small';
  imageSize: number;
  patchSize: number;
  /** ViT width. */
  visionDim: number;
  visionDepth: number;
  visionHeads: number;
  /** Output width of the encoder (Florence-2-Large: 1024). */
  dim: number;
  /** Joint (image + text) encoder depth; the BART encoder's role. */
  textDepth: number;
  textHeads: number;
  /** Token ids per instruction (byte tokenizer, so ≥ 3). */
  contextLength: number;
  frozen: boolean;
}

/** Florence-2-Large encoder side (DaViT + projector + BART-large encoder), shapes only (research §1.2). */
export interface XvlaFlorenceConfig {
  kind: 'florence2';
  imageSize: number;
  stageDims: number[];
  stageDepths: number[];
  stageHeads: number[];
  windowSize: number;
  /** Projector output / BART width. */
  dim: number;
  bartLayers: number;
  bartHeads: number;
  bartFfn: number;
  vocabSize: number;
  /** Rows of encoder.embed_positions (max_position_embeddings + 2 in the X-VLA checkpoints). */
  bartPositions: number;
  contextLength: number;
  frozen: boolean;
}

export type XvlaVlConfig = XvlaSmallVlConfig | XvlaFlorenceConfig;

export interface XvlaLossWeights {
  /** ×500 upstream: raw metres would otherwise be dwarfed by the gripper BCE. */
  position: number;
  /** ×10 upstream. */
  rotation: number;
  gripper: number;
}

export interface XvlaConfig {
  cameras: string[];
  vl: XvlaVlConfig;
  /** 20 = EE6D two arms (xyz + rot6d + gripper, ×2). */
  actionDim: number;
  /** Chunk length (num_actions, 30 upstream). */
  horizon: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  numDomains: number;
  softPromptLength: number;
  /** Width of the sinusoidal time embedding (cos first, max period 100). */
  timeDim: number;
  /** Rows of pos_emb; must cover horizon + vlm + aux tokens. */
  maxLenSeq: number;
  dropout: number;
  objective: FlowObjective;
  /** Denoising passes at inference (10 upstream). */
  steps: number;
  rot6dOrder: Rot6dOrder;
  loss: XvlaLossWeights;
  /** Domain slot used when a batch carries none (3 = LIBERO upstream; 0 for fresh models). */
  defaultDomain: number;
}

export type XvlaPreset = 'tiny' | 'small' | 'paper';

const BASE = {
  actionDim: 20,
  objective: 'x0' as FlowObjective,
  steps: 10,
  rot6dOrder: 'interleaved' as Rot6dOrder,
  loss: { position: 500, rotation: 10, gripper: 1 },
  defaultDomain: 0,
  timeDim: 32,
};

const TINY: XvlaConfig = {
  ...BASE,
  cameras: ['front', 'wrist'],
  vl: {
    kind: 'small',
    imageSize: 32,
    patchSize: 8,
    visionDim: 32,
    visionDepth: 1,
    visionHeads: 2,
    dim: 32,
    textDepth: 1,
    textHeads: 2,
    contextLength: 32,
    frozen: false,
  },
  horizon: 5,
  dim: 32,
  depth: 2,
  heads: 2,
  mlpRatio: 4,
  // Few slots keep the per-domain tables small; the layout is the same as the 30 upstream.
  numDomains: 4,
  softPromptLength: 4,
  timeDim: 16,
  maxLenSeq: 128,
  dropout: 0,
  loss: { position: 500, rotation: 10, gripper: 1 },
};

const SMALL: XvlaConfig = {
  ...BASE,
  cameras: ['front', 'wrist'],
  vl: {
    kind: 'small',
    imageSize: 96,
    patchSize: 16,
    visionDim: 128,
    visionDepth: 2,
    visionHeads: 4,
    dim: 128,
    textDepth: 1,
    textHeads: 4,
    contextLength: 48,
    frozen: false,
  },
  horizon: 30,
  dim: 128,
  depth: 4,
  heads: 4,
  mlpRatio: 4,
  numDomains: 30,
  softPromptLength: 32,
  maxLenSeq: 256,
  dropout: 0,
};

const PAPER: XvlaConfig = {
  ...BASE,
  // LIBERO client: agentview + wrist, padded to 3 views.
  cameras: ['image0', 'image1', 'image2'],
  vl: {
    kind: 'florence2',
    imageSize: 224,
    stageDims: [256, 512, 1024, 2048],
    stageDepths: [1, 1, 9, 1],
    stageHeads: [8, 16, 32, 64],
    windowSize: 12,
    dim: 1024,
    bartLayers: 12,
    bartHeads: 16,
    bartFfn: 4096,
    vocabSize: 51289,
    bartPositions: 4098,
    contextLength: 50,
    frozen: false,
  },
  horizon: 30,
  dim: 1024,
  depth: 24,
  heads: 16,
  mlpRatio: 4,
  numDomains: 30,
  softPromptLength: 32,
  maxLenSeq: 512,
  dropout: 0.1,
  defaultDomain: 3,
};

const PRESETS: Record<XvlaPreset, XvlaConfig> = { tiny: TINY, small: SMALL, paper: PAPER };

/** A deep copy of a preset with top-level fields replaced, validated. */
export function xvlaConfig(preset: XvlaPreset, overrides: Partial<XvlaConfig> = {}): XvlaConfig {
  const base = PRESETS[preset];
  if (base === undefined)
    throw new Error(`xvlaConfig: unknown preset '${String(preset)}' (tiny | small | paper)`);
  const cfg = { ...structuredClone(base), ...structuredClone(overrides) };
  validateXvlaConfig(cfg);
  return cfg;
}

/**
 * The Florence-2 encoder layout at toy sizes (64 px → DaViT grids 16, 8, 4, 2; window 3, so padded and exact
 * windows both occur; one BART layer): the real code paths in milliseconds, for tests and shape checks.
 */
export function florenceToyVl(overrides: Partial<XvlaFlorenceConfig> = {}): XvlaFlorenceConfig {
  return {
    kind: 'florence2',
    imageSize: 64,
    stageDims: [8, 8, 16, 16],
    stageDepths: [1, 1, 1, 1],
    stageHeads: [2, 2, 2, 4],
    windowSize: 3,
    dim: 16,
    bartLayers: 1,
    bartHeads: 2,
    bartFfn: 32,
    vocabSize: 40,
    bartPositions: 24,
    contextLength: 6,
    frozen: false,
    ...overrides,
  };
}

function positiveInt(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`xvla config: ${path} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/** Output grid side of the DaViT for an input side (the four patch convs: 7/4/3, then 3/2/1 ×3); 224 → 7. */
export function davitGrid(imageSize: number): number {
  let g = Math.floor((imageSize + 2 * 3 - 7) / 4) + 1;
  for (let s = 1; s < 4; s++) g = Math.floor((g + 2 - 3) / 2) + 1;
  return g;
}

/** Tokens the VL encoder hands the transformer: main view + text, then the aux views. */
export function xvlaContextTokens(cfg: XvlaConfig): { vlm: number; aux: number } {
  const v = cfg.vl;
  // Florence-2: grid tokens + 1 pooled per view (49 + 1 at 224 px); the small ViT: its patches + CLS.
  const perView = v.kind === 'small' ? (v.imageSize / v.patchSize) ** 2 + 1 : davitGrid(v.imageSize) ** 2 + 1;
  return { vlm: perView + v.contextLength, aux: perView * (cfg.cameras.length - 1) };
}

/** Throws naming the field and how to fix it. */
export function validateXvlaConfig(cfg: XvlaConfig): void {
  if (
    !Array.isArray(cfg.cameras) ||
    cfg.cameras.length === 0 ||
    new Set(cfg.cameras).size !== cfg.cameras.length
  ) {
    throw new Error(
      'xvla config: cameras must be a non-empty list of distinct names (the first is the main view)',
    );
  }
  for (const k of [
    'actionDim',
    'horizon',
    'dim',
    'depth',
    'heads',
    'numDomains',
    'softPromptLength',
    'timeDim',
    'maxLenSeq',
    'steps',
  ] as const) {
    positiveInt(k, cfg[k]);
  }
  if (cfg.actionDim !== 20) {
    throw new Error(
      `xvla config: actionDim must be 20 (EE6D: xyz + rot6d + gripper for two arms), got ${cfg.actionDim}`,
    );
  }
  if (cfg.dim % cfg.heads !== 0)
    throw new Error(`xvla config: dim (${cfg.dim}) must divide by heads (${cfg.heads})`);
  if (cfg.timeDim % 2 !== 0)
    throw new Error(`xvla config: timeDim must be even (cos | sin halves), got ${cfg.timeDim}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw new Error(`xvla config: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (cfg.objective !== 'x0' && cfg.objective !== 'velocity') {
    throw new Error(
      `xvla config: objective must be 'x0' (released code) or 'velocity' (paper), got '${String(cfg.objective)}'`,
    );
  }
  if (cfg.rot6dOrder !== 'interleaved' && cfg.rot6dOrder !== 'contiguous') {
    throw new Error(
      `xvla config: rot6dOrder must be 'interleaved' or 'contiguous', got '${String(cfg.rot6dOrder)}'`,
    );
  }
  if (!Number.isInteger(cfg.defaultDomain) || cfg.defaultDomain < 0 || cfg.defaultDomain >= cfg.numDomains) {
    throw new Error(
      `xvla config: defaultDomain must be an integer in [0, ${cfg.numDomains}), got ${cfg.defaultDomain}`,
    );
  }
  for (const k of ['position', 'rotation', 'gripper'] as const) {
    if (!(cfg.loss[k] >= 0)) throw new Error(`xvla config: loss.${k} must be ≥ 0, got ${cfg.loss[k]}`);
  }
  const v = cfg.vl;
  if (v.kind === 'small') {
    for (const k of [
      'imageSize',
      'patchSize',
      'visionDim',
      'visionDepth',
      'visionHeads',
      'dim',
      'textDepth',
      'textHeads',
    ] as const) {
      positiveInt(`vl.${k}`, v[k]);
    }
    if (v.imageSize % v.patchSize !== 0)
      throw new Error('xvla config: vl.imageSize must be a multiple of vl.patchSize');
    if (v.visionDim % v.visionHeads !== 0 || v.dim % v.textHeads !== 0) {
      throw new Error('xvla config: vl.visionDim / vl.dim must divide by vl.visionHeads / vl.textHeads');
    }
    if (!Number.isInteger(v.contextLength) || v.contextLength < 3) {
      throw new Error(
        `xvla config: vl.contextLength must be an integer ≥ 3 (BOS + EOS + text), got ${v.contextLength}`,
      );
    }
  } else if (v.kind === 'florence2') {
    if (v.stageDims.length !== 4 || v.stageDepths.length !== 4 || v.stageHeads.length !== 4) {
      throw new Error('xvla config: vl.stageDims / stageDepths / stageHeads need 4 entries (DaViT stages)');
    }
  } else {
    throw new Error(`xvla config: vl.kind must be 'small' or 'florence2'`);
  }
  const { vlm, aux } = xvlaContextTokens(cfg);
  if (cfg.horizon + vlm + aux > cfg.maxLenSeq) {
    throw new Error(
      `xvla config: maxLenSeq (${cfg.maxLenSeq}) must cover horizon + vlm + aux tokens (${cfg.horizon + vlm + aux}); raise maxLenSeq`,
    );
  }
}
