/**
 * AnchorRefinePolicy configuration: the backbone, the two branches, and every variant of the spec's
 * ablation table (see README "Ablations"). Validation errors name the field and say how to fix it.
 */

import type { Reconstruction } from '@anchor-refine/anchor-planner';
import {
  type Gr1Config,
  type Gr1Preset,
  type Gr1VideoConfig,
  gr1Config,
  validateGr1Config,
  validateVideoConfig,
} from '@anchor-refine/backbones';
import type { GripperVariant } from '@anchor-refine/gripper-refinement';
import {
  type RefinerInput,
  type RefinerVisionConfig,
  type RefineTarget,
  validateRefinerVision,
} from '@anchor-refine/residual-refiner';

export interface AnchorConfig {
  /** Anchor trunk depth; default = the backbone's (GR-1 12). "phase 1 only, deeper anchor": + the refiner's depth. */
  depth: number;
  /** β of Eq. 4. */
  beta: number;
  reconstruction: Reconstruction;
}

export interface RefineConfig {
  /** false = anchor-only policy (phase 1 only). */
  enabled: boolean;
  /** Refine trunk depth (the paper's "lightweight" module; a third of the anchor's by default). */
  depth: number;
  input: RefinerInput;
  target: RefineTarget;
  /** sg in Eq. 5; false = "w/o detached anchor" (the anchor keeps training in phase 2). */
  detachAnchor: boolean;
  gripper: GripperVariant;
  /** Margin m of Eq. 9. */
  margin: number;
  /** λ_g of Eq. 12. */
  lambdaGrip: number;
  /**
   * F_ref's own keypoint encoder of the raw images, trained in phase 2 (residual-refiner vision.ts), e.g.
   * {keypoints: 16, cell: 4, width: 32}. Absent or null = F_ref reads only the shared context (the paper).
   */
  vision?: RefinerVisionConfig | null;
  /**
   * How F_ref's trunk starts phase 2: 'random' (absent: the paper's fresh module) or 'anchor', a copy of
   * F_anc's trunk weights (needs refine.depth = anchor.depth). Either way the residual head's output layer
   * starts near zero, so the composed chunk starts at the anchor's, and F_ref still reads only C: the
   * copy is a starting point, not a connection (choice beyond the paper; apps/train README, stop 15).
   */
  trunkInit?: 'random' | 'anchor';
  /**
   * Chunk steps past an episode's end (masked in every loss): 'masked' (absent: the paper's masked L_ref)
   * leaves ΔÂ there free; 'zero' trains it to 0, so an extrapolated step is the anchor's (choice beyond
   * the paper; apps/train README, stop 20).
   */
  padding?: 'masked' | 'zero';
}

export interface ExecutionConfig {
  /** Actions executed from each predicted chunk before predicting again (≤ horizon). */
  actionsPerChunk: number;
  /** ACT temporal ensembling weight exp(−k·i) (i = 0 oldest); null = plain chunk queue. */
  temporalEnsemble: number | null;
}

export interface PolicyConfig {
  backbone: { type: 'gr1'; config: Gr1Config };
  anchor: AnchorConfig;
  refine: RefineConfig;
  execution: ExecutionConfig;
  /**
   * GR-1's future-frame objective in phase 1 (backbones gr1/video.ts): [OBS] queries beside the anchor's
   * and a light decoder predicting each camera's frame `offset` steps ahead, e.g. {queries: 4, offset: 3,
   * weight: 0.1, dim: 64, depth: 1, heads: 4}. Absent or null = the action loss alone.
   */
  video?: Gr1VideoConfig | null;
  seed: number;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Deep-merges `over` into a copy of `base` (objects merge, arrays and scalars replace). */
export function mergeConfig<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object'
        ? mergeConfig(b, v as DeepPartial<typeof b>)
        : v;
  }
  return out as T;
}

/** A full config from a GR-1 preset, with any fields overridden. */
export function policyConfig(preset: Gr1Preset, overrides: DeepPartial<PolicyConfig> = {}): PolicyConfig {
  const bb = gr1Config(preset);
  const base: PolicyConfig = {
    backbone: { type: 'gr1', config: bb },
    anchor: { depth: bb.depth, beta: 1, reconstruction: 'smooth_l1' },
    refine: {
      enabled: true,
      depth: Math.max(1, Math.round(bb.depth / 3)),
      input: 'implicit',
      target: 'residual',
      detachAnchor: true,
      gripper: 'decision-aware',
      margin: 0.1,
      lambdaGrip: 1,
    },
    execution: { actionsPerChunk: Math.max(1, Math.floor(bb.horizon / 2)), temporalEnsemble: null },
    seed: 0,
  };
  const cfg = mergeConfig(base, overrides);
  validatePolicyConfig(cfg);
  return cfg;
}

const oneOf = (path: string, v: unknown, allowed: readonly string[]) => {
  if (!allowed.includes(v as string)) {
    throw new Error(
      `policy config: ${path} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`,
    );
  }
};

function positiveInt(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`policy config: ${path} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

export function validatePolicyConfig(cfg: PolicyConfig): void {
  if (cfg.backbone?.type !== 'gr1') {
    throw new Error(`policy config: backbone.type must be 'gr1', got ${JSON.stringify(cfg.backbone?.type)}`);
  }
  validateGr1Config(cfg.backbone.config);
  positiveInt('anchor.depth', cfg.anchor.depth);
  if (!(cfg.anchor.beta >= 0))
    throw new Error(`policy config: anchor.beta must be ≥ 0, got ${cfg.anchor.beta}`);
  oneOf('anchor.reconstruction', cfg.anchor.reconstruction, ['smooth_l1', 'mse']);
  const r = cfg.refine;
  if (typeof r.enabled !== 'boolean') throw new Error('policy config: refine.enabled must be true or false');
  positiveInt('refine.depth', r.depth);
  oneOf('refine.input', r.input, ['implicit', 'explicit-anchor-concat']);
  oneOf('refine.target', r.target, ['residual', 'direct']);
  oneOf('refine.gripper', r.gripper, ['decision-aware', 'none', 'naive-mse']);
  if (typeof r.detachAnchor !== 'boolean')
    throw new Error('policy config: refine.detachAnchor must be true or false');
  if (!(r.margin > 0 && r.margin < 0.5)) {
    throw new Error(`policy config: refine.margin must be in (0, 0.5) (Eq. 9's m), got ${r.margin}`);
  }
  if (!(r.lambdaGrip >= 0))
    throw new Error(`policy config: refine.lambdaGrip must be ≥ 0, got ${r.lambdaGrip}`);
  if (r.padding !== undefined) oneOf('refine.padding', r.padding, ['masked', 'zero']);
  if (r.trunkInit !== undefined) {
    oneOf('refine.trunkInit', r.trunkInit, ['random', 'anchor']);
    if (r.trunkInit === 'anchor' && r.depth !== cfg.anchor.depth) {
      throw new Error(
        `policy config: refine.trunkInit 'anchor' copies the anchor's trunk, so refine.depth must equal anchor.depth (${cfg.anchor.depth}), got ${r.depth}`,
      );
    }
  }
  if (r.vision !== undefined && r.vision !== null) {
    if (typeof r.vision !== 'object')
      throw new Error('policy config: refine.vision must be {keypoints, cell, width} or null');
    validateRefinerVision(r.vision, cfg.backbone.config.vision.imageSize);
  }
  if (cfg.video !== undefined && cfg.video !== null) {
    if (typeof cfg.video !== 'object')
      throw new Error('policy config: video must be {queries, offset, weight, dim, depth, heads} or null');
    validateVideoConfig(cfg.video, 'video', cfg.backbone.config.vision);
  }
  const h = cfg.backbone.config.horizon;
  positiveInt('execution.actionsPerChunk', cfg.execution.actionsPerChunk);
  if (cfg.execution.actionsPerChunk > h) {
    throw new Error(
      `policy config: execution.actionsPerChunk (${cfg.execution.actionsPerChunk}) must be ≤ the chunk length ${h}`,
    );
  }
  const te = cfg.execution.temporalEnsemble;
  if (te !== null && !(typeof te === 'number' && te >= 0)) {
    throw new Error(
      `policy config: execution.temporalEnsemble must be null or a number ≥ 0 (ACT uses 0.01), got ${te}`,
    );
  }
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0) {
    throw new Error(`policy config: seed must be an integer ≥ 0, got ${JSON.stringify(cfg.seed)}`);
  }
}
