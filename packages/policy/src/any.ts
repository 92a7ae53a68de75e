/**
 * One contract over both AnchorRefine policies (GR-1 regression backbone, X-VLA flow backbone): the
 * config union, a factory that dispatches on `backbone.type`, and the shape facts a data pipeline, a
 * server or an evaluator needs (cameras, image size, horizon, history, dims) without knowing which
 * backbone it holds. Checkpoints store the config, so `loadPolicy` rebuilds the right class.
 */
import { type PolicyConfig, validatePolicyConfig } from './config.js';
import { AnchorRefinePolicy, type PolicyOptions } from './policy.js';
import type { PolicyStats } from './stats.js';
import { validateXvlaPolicyConfig, type XvlaPolicyConfig } from './xvla/config.js';
import { XvlaAnchorRefinePolicy } from './xvla/policy.js';

export type BackboneType = 'gr1' | 'xvla';
export const BACKBONE_TYPES: readonly BackboneType[] = ['gr1', 'xvla'];

export type AnyPolicyConfig = PolicyConfig | XvlaPolicyConfig;
export type AnyPolicy = AnchorRefinePolicy | XvlaAnchorRefinePolicy;

/** What the outside of a policy needs to feed it and read it. */
export interface PolicyShape {
  backbone: BackboneType;
  cameras: string[];
  /** Square input images (pixels per side). */
  imageSize: number;
  horizon: number;
  /** Observation frames per prediction (GR-1: L; X-VLA: 1). */
  history: number;
  /** Arm action channels (the gripper is one more channel). */
  armDim: number;
  stateDim: number;
  actionsPerChunk: number;
  temporalEnsemble: number | null;
}

function backboneType(cfg: unknown): unknown {
  const b = (cfg as { backbone?: { type?: unknown } } | null)?.backbone;
  return b?.type;
}

/** Validates either config kind; the error names `backbone.type` when it is neither. */
export function validateAnyPolicyConfig(cfg: AnyPolicyConfig): void {
  const t = backboneType(cfg);
  if (t === 'gr1') validatePolicyConfig(cfg as PolicyConfig);
  else if (t === 'xvla') validateXvlaPolicyConfig(cfg as XvlaPolicyConfig);
  else
    throw new Error(
      `policy config: backbone.type must be one of ${BACKBONE_TYPES.map((b) => `'${b}'`).join(', ')}, got ${JSON.stringify(t)}`,
    );
}

export function isXvlaConfig(cfg: AnyPolicyConfig): cfg is XvlaPolicyConfig {
  return cfg.backbone.type === 'xvla';
}

/** The policy class of `config.backbone.type`. */
export function createPolicy(config: AnyPolicyConfig, stats?: PolicyStats, opts?: PolicyOptions): AnyPolicy {
  validateAnyPolicyConfig(config);
  return isXvlaConfig(config)
    ? new XvlaAnchorRefinePolicy(config, stats, opts)
    : new AnchorRefinePolicy(config, stats, opts);
}

/**
 * The Hugging Face tokenizer kind a config needs from outside (no vocabulary ships with the toolkit), or
 * undefined when it uses the built-in byte tokenizer.
 */
export function externalTokenizer(
  cfg: AnyPolicyConfig,
): { kind: 'clip' | 'bart'; contextLength: number } | undefined {
  if (isXvlaConfig(cfg)) {
    const vl = cfg.backbone.config.vl;
    return vl.kind === 'florence2' ? { kind: 'bart', contextLength: vl.contextLength } : undefined;
  }
  const t = cfg.backbone.config.text;
  return t.tokenizer === 'clip' ? { kind: 'clip', contextLength: t.contextLength } : undefined;
}

export function policyShape(cfg: AnyPolicyConfig): PolicyShape {
  const exec = {
    actionsPerChunk: cfg.execution.actionsPerChunk,
    temporalEnsemble: cfg.execution.temporalEnsemble,
  };
  if (isXvlaConfig(cfg)) {
    const bb = cfg.backbone.config;
    return {
      backbone: 'xvla',
      cameras: [...bb.cameras],
      imageSize: bb.vl.imageSize,
      horizon: bb.horizon,
      history: 1,
      armDim: cfg.layout.armChannels.length,
      stateDim: cfg.layout.stateChannels.length,
      ...exec,
    };
  }
  const bb = cfg.backbone.config;
  return {
    backbone: 'gr1',
    cameras: [...bb.cameras],
    imageSize: bb.vision.imageSize,
    horizon: bb.horizon,
    history: bb.history,
    armDim: bb.armDim,
    stateDim: bb.stateDim,
    ...exec,
  };
}
