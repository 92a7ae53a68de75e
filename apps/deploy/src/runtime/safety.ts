/** Safety filters applied to every command: joint limits and a maximum change per step. */

export interface SafetyConfig {
  /** per-joint limits (policy units); a command outside is clamped */
  min: Float32Array;
  max: Float32Array;
  /** largest |target − present| per joint per step (policy units); Infinity = off */
  maxDeltaPerStep: number;
}

export interface SafetyResult {
  joints: Float32Array;
  gripper: number;
  clamped: boolean;
}

export function applySafety(
  target: Float32Array,
  gripper: number,
  present: Float32Array,
  cfg: SafetyConfig,
): SafetyResult {
  const out = new Float32Array(target.length);
  let clamped = false;
  for (let i = 0; i < target.length; i++) {
    let v = target[i];
    if (!Number.isFinite(v)) {
      v = present[i];
      clamped = true;
    }
    const lo = Math.max(cfg.min[i], present[i] - cfg.maxDeltaPerStep);
    const hi = Math.min(cfg.max[i], present[i] + cfg.maxDeltaPerStep);
    // When the arm is already outside its limits, the limit wins (move back toward the range).
    const c = lo <= hi ? Math.min(hi, Math.max(lo, v)) : Math.min(cfg.max[i], Math.max(cfg.min[i], v));
    if (c !== v) clamped = true;
    out[i] = c;
  }
  const g = Number.isFinite(gripper) ? Math.min(1, Math.max(0, gripper)) : 0;
  return { joints: out, gripper: g, clamped: clamped || g !== gripper };
}
