/**
 * The inference delay a schedule plans for, measured online: the p95 of the last `window` request →
 * result latencies, in control steps (⌈p95 / period⌉). Before any measurement it plans `initialSteps`.
 */
export class DelayPlanner {
  private readonly samples: number[] = [];

  constructor(
    readonly periodMs: number,
    readonly window = 50,
    readonly initialSteps = 0,
  ) {
    if (!(periodMs > 0)) throw new Error(`DelayPlanner: periodMs must be > 0, got ${periodMs}`);
    if (!Number.isInteger(window) || window < 1)
      throw new Error(`DelayPlanner: window must be a positive integer, got ${window}`);
    if (!Number.isInteger(initialSteps) || initialSteps < 0)
      throw new Error(`DelayPlanner: initialSteps must be an integer ≥ 0, got ${initialSteps}`);
  }

  record(latencyMs: number): void {
    if (!(latencyMs >= 0 && Number.isFinite(latencyMs)))
      throw new Error(`DelayPlanner: latency must be a finite number ≥ 0 ms, got ${latencyMs}`);
    this.samples.push(latencyMs);
    if (this.samples.length > this.window) this.samples.shift();
  }

  /** p95 of the window (nearest rank), or undefined before the first sample. */
  p95Ms(): number | undefined {
    if (this.samples.length === 0) return undefined;
    const s = [...this.samples].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
  }

  /** Control steps that pass while the model thinks: ⌈p95 / period⌉ (a 1e-6 tolerance for exact multiples). */
  steps(): number {
    const p = this.p95Ms();
    if (p === undefined) return this.initialSteps;
    return Math.max(0, Math.ceil(p / this.periodMs - 1e-6));
  }
}
