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
  DelayedExecutor,
  isScheduleName,
  SCHEDULES,
  type ScheduleName,
  SIM_JOINT_LIMITS,
  SIM_MAX_DELTA_PER_STEP,
} from '@anchor-refine/deploy/sim-eval';
import {
  type ActionChunk,
  ActionSelector,
  type AnyPolicy,
  applyGuide,
  type ChunkGuide,
  type ChunkPrediction,
  loadPolicy,
  type PolicyObservation,
  policyShape,
} from '@anchor-refine/policy';
import type { ClosedLoopPolicy, JsonValue, PolicyContext } from '@anchor-refine/sim';
import { toPolicyObservation } from './data.js';

export type EvalMode = 'anchor' | 'refine';

export interface SimPolicyOptions {
  checkpoint: string;
  mode: EvalMode;
  /** Override the checkpoint's execution horizon (actions executed per chunk). */
  actionsPerChunk?: number;
  /** Run the deployment runtime's schedule under an injected inference delay instead (`eval --schedule`). */
  delayed?: DelayedEvalOptions;
}

/**
 * `eval --schedule S --inject-delay MS`: each episode runs as `anchor-refine-deploy run` would drive the
 * robot — schedule S, a chunk requested at step t arriving at t + ⌈MS / 100 ms⌉ on the sim's virtual
 * clock (the robot keeps executing meanwhile; the synchronous queue holds), the same safety filter
 * (the sim's joint limits, at most 0.25 rad per step, as `run --robot sim`).
 */
export interface DelayedEvalOptions {
  schedule: ScheduleName;
  delayMs: number;
  /** async-blend / rtc: request when this fraction of the chunk is left (default 0.5) */
  threshold?: number;
}

/**
 * Checks a delayed evaluation's fields; `field` names each one as the caller's user wrote it (a CLI flag
 * or the worker option's path) in the error.
 */
function checkDelayed(
  schedule: unknown,
  delayMs: unknown,
  threshold: unknown,
  field: (name: 'schedule' | 'delay' | 'threshold') => string,
): DelayedEvalOptions {
  if (typeof schedule !== 'string' || !isScheduleName(schedule))
    throw new Error(
      `${field('schedule')} must be one of ${SCHEDULES.join(', ')}, got ${JSON.stringify(schedule)}`,
    );
  if (typeof delayMs !== 'number' || !(delayMs >= 0))
    throw new Error(`${field('delay')} must be a number ≥ 0 (ms), got ${JSON.stringify(delayMs)}`);
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold > 0 && threshold < 1))
    throw new Error(`${field('threshold')} must be in (0, 1), got ${JSON.stringify(threshold)}`);
  return { schedule, delayMs, ...(threshold !== undefined ? { threshold } : {}) };
}

const FLAGS = { schedule: '--schedule', delay: '--inject-delay', threshold: '--threshold' } as const;
const OPTION_FIELDS = { schedule: 'schedule', delay: 'delayMs', threshold: 'threshold' } as const;

/**
 * `eval --schedule` / `--inject-delay` / `--threshold` → the delayed evaluation, or undefined (the plain
 * one). Errors name the flag.
 */
export function delayedEvalFromFlags(o: {
  schedule?: string;
  injectDelay?: number;
  threshold?: number;
}): DelayedEvalOptions | undefined {
  if (o.schedule === undefined) {
    if (o.injectDelay !== undefined || o.threshold !== undefined)
      throw new Error('--inject-delay and --threshold need --schedule <name>');
    return undefined;
  }
  return checkDelayed(o.schedule, o.injectDelay ?? 0, o.threshold, (f) => FLAGS[f]);
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
    ...(o.delayed !== undefined && o.delayed !== null ? { delayed: parseDelayed(o.delayed) } : {}),
  };
}

function parseDelayed(v: JsonValue): DelayedEvalOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error('createSimPolicy: options.delayed must be an object');
  return checkDelayed(
    v.schedule,
    v.delayMs,
    v.threshold,
    (f) => `createSimPolicy: options.delayed.${OPTION_FIELDS[f]}`,
  );
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
export function wrapPolicy(
  policy: AnyPolicy,
  mode: EvalMode,
  delayed?: DelayedEvalOptions,
): ClosedLoopPolicy {
  if (delayed) return wrapDelayed(policy, mode, delayed);
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

/**
 * The anchor-only chunk under a real-time-chunking guide: the anchor gets the same frozen prefix and
 * overlap blend as the composed chunk (GR-1 blends the arm; X-VLA's anchor was already inpainted by the
 * guided sampling, so only the frozen rows are copied), so both modes execute the same way.
 */
export function guidedAnchorOnlyChunk(c: ActionChunk, guide: ChunkGuide | undefined, blendArm: boolean) {
  const a = anchorOnlyChunk(c);
  if (!guide) return a;
  const g = applyGuide({ ...c, arm: a.arm, gripper: a.gripper, gripperProb: a.gripperProb }, guide, {
    blendArm,
  });
  return { arm: g.arm, gripper: g.gripper, gripperProb: g.gripperProb, horizon: c.horizon, armDim: c.armDim };
}

function wrapDelayed(policy: AnyPolicy, mode: EvalMode, o: DelayedEvalOptions): ClosedLoopPolicy {
  const shape = policyShape(policy.config);
  const blendArm = shape.backbone === 'gr1';
  const ex = new DelayedExecutor(
    (h, g) => {
      const c = policy.predictActionChunk(h, g);
      return mode === 'refine' ? c : guidedAnchorOnlyChunk(c, g, blendArm);
    },
    {
      schedule: o.schedule,
      delayMs: o.delayMs,
      rateHz: 10,
      history: shape.history,
      armDim: shape.armDim,
      toObservation: toPolicyObservation,
      safety: { ...SIM_JOINT_LIMITS, maxDeltaPerStep: SIM_MAX_DELTA_PER_STEP },
      settings: {
        horizon: shape.horizon,
        actionsPerChunk: shape.actionsPerChunk,
        ensembleK: shape.temporalEnsemble,
        ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
      },
    },
  );
  return { reset: () => ex.reset(), act: (obs) => ex.act(obs) };
}

export async function createSimPolicy(options: JsonValue, _ctx: PolicyContext): Promise<ClosedLoopPolicy> {
  const { checkpoint, mode, actionsPerChunk, delayed } = parseOptions(options);
  await selectBackend('native');
  const key = `${checkpoint}\0${actionsPerChunk ?? ''}`;
  let p = loaded.get(key);
  if (!p) {
    p = loadPolicy(checkpoint, actionsPerChunk ? { execution: { actionsPerChunk } } : {});
    loaded.set(key, p);
  }
  return wrapPolicy(await p, mode, delayed);
}

/** The factory spec for `evaluate` (source .ts in dev/tests, built .js from dist). */
export function simPolicySpec(
  checkpoint: string,
  mode: EvalMode,
  actionsPerChunk?: number,
  delayed?: DelayedEvalOptions,
) {
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './sim-policy.ts' : './sim-policy.js',
    import.meta.url,
  );
  const options = {
    checkpoint,
    mode,
    ...(actionsPerChunk ? { actionsPerChunk } : {}),
    ...(delayed ? { delayed: { ...delayed } } : {}),
  };
  return { module: fileURLToPath(url), exportName: 'createSimPolicy', options };
}
