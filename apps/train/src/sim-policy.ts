/**
 * The closed-loop policy factory the sim evaluator imports in its worker threads:
 * `{ module: <this file>, exportName: 'createSimPolicy', options: { checkpoint, mode } }`.
 * `mode: 'refine'` runs the full AnchorRefine composition (Eq. 2 and 11); `mode: 'anchor'` executes the
 * same model's anchor chunk and anchor gripper decision 1[p ≥ 0.5] (the anchor-only baseline), through
 * the same chunk queue / temporal ensembling.
 */
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@anchor-refine/core-tensors';
import {
  type ActionChunk,
  ActionSelector,
  type AnyPolicy,
  type ChunkPrediction,
  loadPolicy,
  type PolicyObservation,
} from '@anchor-refine/policy';
import type { ClosedLoopPolicy, JsonValue, PolicyContext } from '@anchor-refine/sim';
import { toPolicyObservation } from './data.js';

export type EvalMode = 'anchor' | 'refine';

export interface SimPolicyOptions {
  checkpoint: string;
  mode: EvalMode;
  /** Override the checkpoint's execution horizon (actions executed per chunk). */
  actionsPerChunk?: number;
}

const loaded = new Map<string, Promise<AnyPolicy>>();

function parseOptions(options: JsonValue): SimPolicyOptions {
  const o = options as Record<string, JsonValue> | null;
  if (!o || typeof o.checkpoint !== 'string')
    throw new Error('createSimPolicy: options.checkpoint must be a folder path');
  if (o.mode !== 'anchor' && o.mode !== 'refine')
    throw new Error(
      `createSimPolicy: options.mode must be 'anchor' or 'refine', got ${JSON.stringify(o.mode)}`,
    );
  if (
    o.actionsPerChunk !== undefined &&
    !(Number.isInteger(o.actionsPerChunk) && Number(o.actionsPerChunk) > 0)
  )
    throw new Error(
      `createSimPolicy: options.actionsPerChunk must be a positive integer, got ${JSON.stringify(o.actionsPerChunk)}`,
    );
  return {
    checkpoint: o.checkpoint,
    mode: o.mode,
    ...(o.actionsPerChunk !== undefined ? { actionsPerChunk: Number(o.actionsPerChunk) } : {}),
  };
}

/** The anchor-only baseline's chunk: the anchor arm and the anchor's own decision 1[σ(λ) ≥ 0.5]. */
export function anchorOnlyChunk(c: ActionChunk): ChunkPrediction {
  return {
    arm: c.anchorArm,
    gripperProb: c.anchorGripperProb,
    gripper: Uint8Array.from(c.anchorGripperProb, (p) => (p >= 0.5 ? 1 : 0)),
    horizon: c.horizon,
    armDim: c.armDim,
  };
}

/**
 * Wraps a loaded policy as a closed-loop sim policy in either mode. Both modes run the same action
 * selection (history, chunk queue or temporal ensembling from `config.execution`, one selector per
 * wrapper); they differ only in the chunk it executes: the composed one, or the anchor's.
 */
export function wrapPolicy(policy: AnyPolicy, mode: EvalMode): ClosedLoopPolicy {
  const selector = new ActionSelector<PolicyObservation>(policy.config.execution, policy.history);
  const chunk =
    mode === 'refine'
      ? (h: readonly PolicyObservation[]) => policy.predictActionChunk(h)
      : (h: readonly PolicyObservation[]) => anchorOnlyChunk(policy.predictActionChunk(h));
  return {
    reset: () => selector.reset(),
    act: (obs) => selector.select(toPolicyObservation(obs), chunk),
  };
}

export async function createSimPolicy(options: JsonValue, _ctx: PolicyContext): Promise<ClosedLoopPolicy> {
  const { checkpoint, mode, actionsPerChunk } = parseOptions(options);
  await selectBackend('native');
  const key = `${checkpoint}\0${actionsPerChunk ?? ''}`;
  let p = loaded.get(key);
  if (!p) {
    p = loadPolicy(checkpoint, actionsPerChunk ? { execution: { actionsPerChunk } } : {});
    loaded.set(key, p);
  }
  return wrapPolicy(await p, mode);
}

/** The factory spec for `evaluate` (source .ts in dev/tests, built .js from dist). */
export function simPolicySpec(checkpoint: string, mode: EvalMode, actionsPerChunk?: number) {
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './sim-policy.ts' : './sim-policy.js',
    import.meta.url,
  );
  const options = { checkpoint, mode, ...(actionsPerChunk ? { actionsPerChunk } : {}) };
  return { module: fileURLToPath(url), exportName: 'createSimPolicy', options };
}
