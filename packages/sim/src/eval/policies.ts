import { ExpertController } from '../expert/run.js';
import { Rng } from '../math/rng.js';
import type { ClosedLoopPolicy, JsonValue, PolicyContext } from './policy.js';

function numberOption(options: JsonValue, key: string, fallback: number): number {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return fallback;
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new Error(`policy option "${key}" must be a finite number`);
  return v;
}

/**
 * The scripted expert as a ClosedLoopPolicy (privileged: plans from the env's true state at reset).
 * Options: `aimNoise` (m), `actionNoise` (rad).
 */
export function createExpertPolicy(options: JsonValue, ctx: PolicyContext): ClosedLoopPolicy {
  const aimNoise = numberOption(options, 'aimNoise', 0);
  const actionNoise = numberOption(options, 'actionNoise', 0);
  let controller: ExpertController | null = null;
  return {
    reset() {
      controller = new ExpertController(ctx.env, { aimNoise, actionNoise });
    },
    act() {
      if (!controller) throw new Error('expert policy: act() before reset()');
      return controller.act();
    },
  };
}

/** Holds the arm at its current joint state with the gripper open (joint action space only). */
export function createZeroPolicy(_options: JsonValue, ctx: PolicyContext): ClosedLoopPolicy {
  if (ctx.env.options.actionSpace !== 'joint')
    throw new Error('zero policy supports the joint action space only');
  let hold: Float32Array | null = null;
  return {
    reset() {
      hold = null;
    },
    act(obs) {
      hold ??= Float32Array.from([...obs.jointState.subarray(0, 5), 0]);
      return hold;
    },
  };
}

/**
 * Random joint-space exploration: each step moves the joint targets by N(0, `scale`) rad around the
 * current state and flips a fair coin for the gripper. Options: `seed`, `scale` (default 0.05 rad).
 */
export function createRandomPolicy(options: JsonValue, ctx: PolicyContext): ClosedLoopPolicy {
  if (ctx.env.options.actionSpace !== 'joint')
    throw new Error('random policy supports the joint action space only');
  const scale = numberOption(options, 'scale', 0.05);
  const seed = numberOption(options, 'seed', 0);
  let rng = new Rng(`random-policy:${seed}`);
  let episode = 0;
  return {
    reset() {
      rng = new Rng(`random-policy:${seed}:${ctx.task}:${episode++}`);
    },
    act(obs) {
      const a = new Float32Array(6);
      for (let k = 0; k < 5; k++) a[k] = obs.jointState[k] + rng.normal(0, scale);
      a[5] = rng.random() < 0.5 ? 0 : 1;
      return a;
    },
  };
}
