/**
 * Normalization statistics the policy carries (stats.json in a checkpoint): arm actions and state are
 * normalized per channel before they reach the model, and predicted arm actions are mapped back.
 */
export type NormalizationMode = 'mean_std' | 'quantile' | 'identity';

export interface FeatureStats {
  mean: number[];
  std: number[];
  q01?: number[];
  q99?: number[];
  min?: number[];
  max?: number[];
}

export interface PolicyStats {
  mode: NormalizationMode;
  /** Arm proprioception channels (gripper excluded). */
  state: FeatureStats;
  /** Arm action channels (gripper excluded). */
  action: FeatureStats;
}

/** Identity statistics for `stateDim` / `armDim` channels (data already normalized). */
export function identityStats(stateDim: number, armDim: number): PolicyStats {
  const z = (n: number) => new Array<number>(n).fill(0);
  const o = (n: number) => new Array<number>(n).fill(1);
  return {
    mode: 'identity',
    state: { mean: z(stateDim), std: o(stateDim) },
    action: { mean: z(armDim), std: o(armDim) },
  };
}

/** Per-channel affine (x − shift) / scale of a feature under `mode`. Tiny scales are clamped (constant channels). */
export function affine(
  stats: FeatureStats,
  mode: NormalizationMode,
  n: number,
  what: string,
): { shift: Float32Array; scale: Float32Array } {
  const shift = new Float32Array(n);
  const scale = new Float32Array(n).fill(1);
  if (mode === 'identity') return { shift, scale };
  const need = (k: keyof FeatureStats) => {
    const v = stats[k];
    if (!Array.isArray(v) || v.length !== n) {
      throw new Error(`stats: ${what}.${k} must be an array of ${n} numbers for mode '${mode}'`);
    }
    return v;
  };
  if (mode === 'mean_std') {
    const mean = need('mean');
    const std = need('std');
    for (let i = 0; i < n; i++) {
      shift[i] = mean[i];
      scale[i] = Math.max(std[i], 1e-6);
    }
  } else {
    const lo = need('q01');
    const hi = need('q99');
    for (let i = 0; i < n; i++) {
      shift[i] = (hi[i] + lo[i]) / 2;
      scale[i] = Math.max((hi[i] - lo[i]) / 2, 1e-6);
    }
  }
  return { shift, scale };
}

export function validateStats(stats: PolicyStats, stateDim: number, armDim: number): void {
  if (!['mean_std', 'quantile', 'identity'].includes(stats.mode)) {
    throw new Error(
      `stats: mode must be 'mean_std', 'quantile' or 'identity', got ${JSON.stringify(stats.mode)}`,
    );
  }
  affine(stats.state, stats.mode, stateDim, 'state');
  affine(stats.action, stats.mode, armDim, 'action');
}
