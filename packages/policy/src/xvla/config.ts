/**
 * Configuration of AnchorRefine on X-VLA. `layout` places the PolicyBatch's generic channels (arm D−1,
 * one gripper, state S) into the 20 EE6D channels the model reads; the default is arm 1's xyz + rot6d.
 */
import { validateXvlaConfig, type XvlaConfig, type XvlaPreset, xvlaConfig } from '@anchor-refine/backbones';
import type { GripperVariant } from '@anchor-refine/gripper-refinement';
import { type DeepPartial, type ExecutionConfig, mergeConfig } from '../config.js';

export interface XvlaLayout {
  /** EE6D channel of each arm action channel (length = armDim). */
  armChannels: number[];
  /** EE6D proprio channel of each state channel (length = stateDim). */
  stateChannels: number[];
  /** EE6D channel of the gripper label (9 = arm 1). */
  gripperChannel: number;
}

export interface XvlaAnchorConfig {
  /** Denoising passes that produce Â^anc (training target and inference); 10 as upstream. */
  steps: number;
  /** Seed of the one noise draw x1 the anchor uses (fixed: the same batch always gets the same anchor). */
  noiseSeed: number;
}

export interface XvlaRefineConfig {
  enabled: boolean;
  /** Refiner depth (the paper's lightweight module: a third of the anchor's). */
  depth: number;
  gripper: GripperVariant;
  margin: number;
  lambdaGrip: number;
}

export interface XvlaPolicyConfig {
  backbone: { type: 'xvla'; config: XvlaConfig };
  layout: XvlaLayout;
  anchor: XvlaAnchorConfig;
  refine: XvlaRefineConfig;
  execution: ExecutionConfig;
  /** Domain slot of this robot (upstream: 3 = LIBERO). */
  domainId: number;
  seed: number;
}

/** EE6D arm 1: xyz (0–2) then rot6d (3–8); arm 2 from 10. */
const ARM_SLOTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18];

export function defaultLayout(armDim: number, stateDim: number): XvlaLayout {
  if (armDim > ARM_SLOTS.length || stateDim > ARM_SLOTS.length) {
    throw new Error(`xvla layout: at most ${ARM_SLOTS.length} arm/state channels fit EE6D (2 × (3 + 6))`);
  }
  return {
    armChannels: ARM_SLOTS.slice(0, armDim),
    stateChannels: ARM_SLOTS.slice(0, stateDim),
    gripperChannel: 9,
  };
}

export function xvlaPolicyConfig(
  preset: XvlaPreset,
  opts: { armDim: number; stateDim: number; overrides?: DeepPartial<XvlaPolicyConfig> },
): XvlaPolicyConfig {
  const bb = xvlaConfig(preset);
  const base: XvlaPolicyConfig = {
    backbone: { type: 'xvla', config: bb },
    layout: defaultLayout(opts.armDim, opts.stateDim),
    anchor: { steps: bb.steps, noiseSeed: 0 },
    refine: {
      enabled: true,
      depth: Math.max(1, Math.round(bb.depth / 3)),
      gripper: 'decision-aware',
      margin: 0.1,
      lambdaGrip: 1,
    },
    // X-VLA's LIBERO client executes the whole chunk; half keeps the closed loop tighter elsewhere.
    execution: { actionsPerChunk: Math.max(1, Math.floor(bb.horizon / 2)), temporalEnsemble: null },
    domainId: bb.defaultDomain,
    seed: 0,
  };
  const cfg = mergeConfig(base, opts.overrides);
  validateXvlaPolicyConfig(cfg);
  return cfg;
}

export function validateXvlaPolicyConfig(cfg: XvlaPolicyConfig): void {
  if (cfg.backbone?.type !== 'xvla') {
    throw new Error(
      `xvla policy config: backbone.type must be 'xvla', got ${JSON.stringify(cfg.backbone?.type)}`,
    );
  }
  const bb = cfg.backbone.config;
  validateXvlaConfig(bb);
  const { armChannels, stateChannels, gripperChannel } = cfg.layout;
  const used = new Set<number>();
  for (const c of armChannels) {
    if (!Number.isInteger(c) || c < 0 || c >= 20 || c === 9 || c === 19 || used.has(c)) {
      throw new Error(
        `xvla policy config: layout.armChannels must be distinct EE6D channels in [0, 20) except 9 and 19, got ${JSON.stringify(armChannels)}`,
      );
    }
    used.add(c);
  }
  if (armChannels.length === 0) throw new Error('xvla policy config: layout.armChannels must not be empty');
  if (
    new Set(stateChannels).size !== stateChannels.length ||
    stateChannels.some((c) => !(c >= 0 && c < 20))
  ) {
    throw new Error(
      `xvla policy config: layout.stateChannels must be distinct channels in [0, 20), got ${JSON.stringify(stateChannels)}`,
    );
  }
  if (gripperChannel !== 9 && gripperChannel !== 19) {
    throw new Error(
      `xvla policy config: layout.gripperChannel must be 9 (arm 1) or 19 (arm 2), got ${gripperChannel}`,
    );
  }
  if (!Number.isInteger(cfg.anchor.steps) || cfg.anchor.steps <= 0) {
    throw new Error(
      `xvla policy config: anchor.steps must be a positive integer (10 upstream), got ${cfg.anchor.steps}`,
    );
  }
  if (!Number.isInteger(cfg.anchor.noiseSeed) || cfg.anchor.noiseSeed < 0) {
    throw new Error(
      `xvla policy config: anchor.noiseSeed must be an integer ≥ 0, got ${cfg.anchor.noiseSeed}`,
    );
  }
  const r = cfg.refine;
  if (!Number.isInteger(r.depth) || r.depth <= 0)
    throw new Error(`xvla policy config: refine.depth must be a positive integer, got ${r.depth}`);
  if (!['decision-aware', 'none', 'naive-mse'].includes(r.gripper)) {
    throw new Error(
      `xvla policy config: refine.gripper must be 'decision-aware', 'none' or 'naive-mse', got '${r.gripper}'`,
    );
  }
  if (!(r.margin > 0 && r.margin < 0.5))
    throw new Error(`xvla policy config: refine.margin must be in (0, 0.5), got ${r.margin}`);
  if (!(r.lambdaGrip >= 0))
    throw new Error(`xvla policy config: refine.lambdaGrip must be ≥ 0, got ${r.lambdaGrip}`);
  const a = cfg.execution.actionsPerChunk;
  if (!Number.isInteger(a) || a <= 0 || a > bb.horizon) {
    throw new Error(
      `xvla policy config: execution.actionsPerChunk must be an integer in [1, ${bb.horizon}], got ${a}`,
    );
  }
  if (!Number.isInteger(cfg.domainId) || cfg.domainId < 0 || cfg.domainId >= bb.numDomains) {
    throw new Error(
      `xvla policy config: domainId must be an integer in [0, ${bb.numDomains}), got ${cfg.domainId}`,
    );
  }
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0)
    throw new Error(`xvla policy config: seed must be an integer ≥ 0, got ${cfg.seed}`);
}
