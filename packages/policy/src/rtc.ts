/**
 * Real-time chunking (RTC) for both policies: the next chunk is predicted while the current one keeps
 * executing, conditioned on the part of the current plan that will still run.
 *
 * A `ChunkGuide` is that plan, aligned with the new chunk: row i is what the robot executes at the step
 * of the new chunk's row i (row 0 = the step whose observation the chunk is predicted from). Its first
 * `delay` rows run while the model thinks: they are frozen (the chunk's rows 0…d−1 equal them exactly).
 * The rest of the overlap is soft: `softPrefixMask` gives W_i = 1 for i < d,
 * c_i·(e^{c_i} − 1)/(e − 1) with c_i = (P − i)/(P − d + 1) for d ≤ i < P, and 0 from P on (P = the
 * plan's length) — the RTC paper's exponentially decaying mask.
 *
 * - X-VLA (flow): the anchor is inpainted by guided sampling towards Y^anc = normalize(plan) − ΔÂ, so
 *   that the composition Â^anc + ΔÂ approaches the plan where W > 0 (`XvlaAnchorRefinePolicy`).
 * - GR-1 (regression, one pass, nothing to guide): the composed arm is blended,
 *   a_i ← W_i·y_i + (1 − W_i)·a_i on the overlap.
 * In both, `applyGuide` then copies the frozen rows exactly and blends the gripper's close probability
 * with the same W (decision = probability > 0.5; the prefix keeps the plan's decisions).
 */
import type { ActionChunk } from './chunk.js';

export interface ChunkGuide {
  /** the plan [P, armDim] row-major, raw action units; row 0 = the new chunk's row 0 */
  arm: Float32Array;
  /** [P] the plan's gripper decisions (1 = closed) */
  gripper: Uint8Array;
  /** [P] the plan's close probabilities */
  gripperProb: Float32Array;
  /** d: leading rows that execute before the new chunk can (0 ≤ d ≤ P) */
  delay: number;
  /** β, the cap on the flow guidance weight (X-VLA only; default `DEFAULT_MAX_GUIDANCE_WEIGHT`) */
  maxGuidanceWeight?: number;
}

/** β of the RTC paper's experiments. */
export const DEFAULT_MAX_GUIDANCE_WEIGHT = 5;

/** Checks a guide against a policy's chunk shape; the error names the field. Returns P. */
export function validateGuide(g: ChunkGuide, horizon: number, armDim: number): number {
  const p = g.gripper.length;
  if (p < 1 || p > horizon)
    throw new Error(`ChunkGuide.gripper: the plan must hold 1…${horizon} steps, got ${p}`);
  if (g.arm.length !== p * armDim)
    throw new Error(`ChunkGuide.arm: expected ${p}×${armDim} = ${p * armDim} values, got ${g.arm.length}`);
  if (g.gripperProb.length !== p)
    throw new Error(`ChunkGuide.gripperProb: expected ${p} values, got ${g.gripperProb.length}`);
  if (!Number.isInteger(g.delay) || g.delay < 0 || g.delay > p)
    throw new Error(`ChunkGuide.delay: must be an integer in [0, ${p}], got ${g.delay}`);
  for (let i = 0; i < g.arm.length; i++)
    if (!Number.isFinite(g.arm[i])) throw new Error(`ChunkGuide.arm: value ${i} is not finite (${g.arm[i]})`);
  const b = g.maxGuidanceWeight;
  if (b !== undefined && !(b > 0 && Number.isFinite(b)))
    throw new Error(`ChunkGuide.maxGuidanceWeight: must be a finite number > 0, got ${b}`);
  return p;
}

/** W [horizon]: 1 on the frozen prefix (i < d), exponential decay over d ≤ i < P, 0 from P on. */
export function softPrefixMask(horizon: number, planLength: number, delay: number): Float32Array {
  if (!(planLength >= 0 && planLength <= horizon && delay >= 0 && delay <= planLength))
    throw new Error(
      `softPrefixMask: need 0 ≤ delay (${delay}) ≤ plan (${planLength}) ≤ horizon (${horizon})`,
    );
  const w = new Float32Array(horizon);
  for (let i = 0; i < planLength; i++) {
    if (i < delay) w[i] = 1;
    else {
      const c = (planLength - i) / (planLength - delay + 1);
      w[i] = (c * Math.expm1(c)) / (Math.E - 1);
    }
  }
  return w;
}

/**
 * The guide applied to a composed chunk (a copy): frozen rows copied exactly (arm, decision and
 * probability), overlap rows' close probability blended with W (decision = p > 0.5), and with
 * `blendArm` (regression policies) the overlap's arm blended with W as well.
 */
export function applyGuide(chunk: ActionChunk, guide: ChunkGuide, opts: { blendArm: boolean }): ActionChunk {
  const p = validateGuide(guide, chunk.horizon, chunk.armDim);
  const d = chunk.armDim;
  const w = softPrefixMask(chunk.horizon, p, guide.delay);
  const arm = chunk.arm.slice();
  const gripper = chunk.gripper.slice();
  const gripperProb = chunk.gripperProb.slice();
  for (let i = 0; i < p; i++) {
    if (i < guide.delay) {
      arm.set(guide.arm.subarray(i * d, (i + 1) * d), i * d);
      gripper[i] = guide.gripper[i];
      gripperProb[i] = guide.gripperProb[i];
      continue;
    }
    if (opts.blendArm)
      for (let j = 0; j < d; j++) arm[i * d + j] = w[i] * guide.arm[i * d + j] + (1 - w[i]) * arm[i * d + j];
    gripperProb[i] = w[i] * guide.gripperProb[i] + (1 - w[i]) * gripperProb[i];
    gripper[i] = gripperProb[i] > 0.5 ? 1 : 0;
  }
  return { ...chunk, arm, gripper, gripperProb };
}
