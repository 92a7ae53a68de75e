/**
 * Learning-rate schedules as pure functions step → lr. `step` counts optimizer steps already taken
 * (0 for the first update), so warmup follows the HuggingFace convention: lr(0) = 0, lr(warmupSteps) = peak.
 */

export type LrSchedule = (step: number) => number;

export interface WarmupOptions {
  /** Steps of linear warmup from 0; 0 disables warmup. */
  warmupSteps?: number;
}

export interface LinearWarmupConfig {
  peakLr: number;
  warmupSteps: number;
}

export interface LinearWarmupDecayConfig extends LinearWarmupConfig {
  /** Step at which the decay reaches endLr; the lr stays at endLr afterwards. */
  totalSteps: number;
  /** Final learning rate. */
  endLr?: number;
}

export interface CosineWithWarmupConfig extends LinearWarmupConfig {
  /** Step at which the cosine reaches minLr; the lr stays at minLr afterwards. */
  totalSteps: number;
  /** Floor of the cosine. */
  minLr?: number;
}

function checkRate(owner: string, field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${owner}: ${field} must be a finite number >= 0 (got ${value})`);
  }
}

function checkCount(owner: string, field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${owner}: ${field} must be an integer >= 0 (got ${value})`);
  }
}

function checkStep(owner: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(`${owner}: step must be an integer >= 0 (got ${step})`);
  }
}

function checkTotal(owner: string, warmupSteps: number, totalSteps: number): void {
  checkCount(owner, 'totalSteps', totalSteps);
  if (totalSteps <= warmupSteps) {
    throw new RangeError(
      `${owner}: totalSteps (${totalSteps}) must be greater than warmupSteps (${warmupSteps})`,
    );
  }
}

function warmupFactor(step: number, warmupSteps: number): number {
  return step < warmupSteps ? step / warmupSteps : 1;
}

/** Linear warmup from 0 to peakLr over warmupSteps, then constant at peakLr. */
export function linearWarmup(config: LinearWarmupConfig): LrSchedule {
  const owner = 'linearWarmup';
  const { peakLr, warmupSteps } = config;
  checkRate(owner, 'peakLr', peakLr);
  checkCount(owner, 'warmupSteps', warmupSteps);
  return (step) => {
    checkStep(owner, step);
    return peakLr * warmupFactor(step, warmupSteps);
  };
}

/** Constant lr, optionally after a linear warmup from 0. */
export function constantSchedule(lr: number, options: WarmupOptions = {}): LrSchedule {
  const owner = 'constantSchedule';
  checkRate(owner, 'lr', lr);
  const warmupSteps = options.warmupSteps ?? 0;
  checkCount(owner, 'warmupSteps', warmupSteps);
  return (step) => {
    checkStep(owner, step);
    return lr * warmupFactor(step, warmupSteps);
  };
}

/** Linear warmup to peakLr, then linear decay to endLr at totalSteps, then constant endLr. */
export function linearWarmupDecay(config: LinearWarmupDecayConfig): LrSchedule {
  const owner = 'linearWarmupDecay';
  const { peakLr, warmupSteps, totalSteps } = config;
  const endLr = config.endLr ?? 0;
  checkRate(owner, 'peakLr', peakLr);
  checkRate(owner, 'endLr', endLr);
  checkCount(owner, 'warmupSteps', warmupSteps);
  checkTotal(owner, warmupSteps, totalSteps);
  if (endLr > peakLr) throw new RangeError(`${owner}: endLr (${endLr}) must be <= peakLr (${peakLr})`);
  return (step) => {
    checkStep(owner, step);
    if (step < warmupSteps) return peakLr * warmupFactor(step, warmupSteps);
    if (step >= totalSteps) return endLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return endLr + (peakLr - endLr) * (1 - progress);
  };
}

/** Linear warmup from 0 to peakLr, half-cosine down to minLr at totalSteps, then constant minLr. */
export function cosineWithWarmup(config: CosineWithWarmupConfig): LrSchedule {
  const owner = 'cosineWithWarmup';
  const { peakLr, warmupSteps, totalSteps } = config;
  const minLr = config.minLr ?? 0;
  checkRate(owner, 'peakLr', peakLr);
  checkRate(owner, 'minLr', minLr);
  checkCount(owner, 'warmupSteps', warmupSteps);
  checkTotal(owner, warmupSteps, totalSteps);
  if (minLr > peakLr) throw new RangeError(`${owner}: minLr (${minLr}) must be <= peakLr (${peakLr})`);
  return (step) => {
    checkStep(owner, step);
    if (step < warmupSteps) return peakLr * warmupFactor(step, warmupSteps);
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
