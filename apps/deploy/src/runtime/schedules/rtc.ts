/**
 * Real-time chunking (Black et al. 2025): the robot executes the current chunk to the end of its horizon
 * while the next one is generated. The next chunk is requested so that `threshold` of the chunk is still
 * left when it *arrives*: at d + threshold · H steps left, d the planned delay (p95 of measured latency,
 * in steps). A request timed by what is left at the asking instead (LeRobot's rule) hands over later the
 * longer the delay is, and the new chunk then takes over a plan that is mostly spent (measured in the sim:
 * tools/bench/README.md). The request carries the plan still executing (`guideFor`): the policy freezes its first d steps
 * and inpaints the rest of the overlap (`@anchor-refine/policy` rtc.ts). A new chunk replaces the plan
 * when it arrives; its rows for the steps that passed meanwhile equal what was executed.
 */
import type { ChunkGuide, ChunkPrediction } from '@anchor-refine/policy';
import type { ActionSchedule, ScheduledAction } from '../schedule.js';

export interface RtcScheduleOptions {
  /**
   * share of the horizon still left when the next chunk arrives: it is requested at
   * d + threshold · horizon steps left, d = `delaySteps()` (0 < threshold < 1; default 0.5, the handover
   * at mid-chunk that is best at zero delay)
   */
  threshold?: number;
  /** the planned delay in control steps (e.g. `DelayPlanner.steps`) */
  delaySteps: () => number;
  /** β, the guidance weight cap passed to flow policies (default: the policy's) */
  maxGuidanceWeight?: number;
}

export class RtcSchedule implements ActionSchedule {
  private current: { start: number; chunk: ChunkPrediction } | null = null;
  readonly threshold: number;

  constructor(readonly options: RtcScheduleOptions) {
    this.threshold = options.threshold ?? 0.5;
    if (!(this.threshold > 0 && this.threshold < 1))
      throw new Error(`RtcSchedule: threshold must be in (0, 1), got ${this.threshold}`);
    const b = options.maxGuidanceWeight;
    if (b !== undefined && !(b > 0)) throw new Error(`RtcSchedule: maxGuidanceWeight must be > 0, got ${b}`);
  }

  add(start: number, chunk: ChunkPrediction): void {
    if (this.current && start < this.current.start) return; // an older request answered late
    this.current = { start, chunk };
  }

  actionAt(t: number): ScheduledAction | undefined {
    const c = this.current;
    if (!c) return undefined;
    const k = t - c.start;
    if (k < 0 || k >= c.chunk.horizon) return undefined;
    const d = c.chunk.armDim;
    return { joints: c.chunk.arm.slice(k * d, (k + 1) * d), gripper: c.chunk.gripper[k] };
  }

  /** Steps of the current chunk left from step t on. */
  left(t: number): number {
    const c = this.current;
    return c ? Math.max(0, c.start + c.chunk.horizon - t) : 0;
  }

  wantsChunk(t: number): boolean {
    const c = this.current;
    if (!c) return true;
    const left = this.left(t);
    const d = this.options.delaySteps();
    // ≥ d + 1 left: the answer must land before the plan runs out, even with threshold · H < 1.
    return left - d <= Math.max(1, this.threshold * c.chunk.horizon);
  }

  guideFor(t: number): ChunkGuide | undefined {
    const c = this.current;
    const p = this.left(t);
    if (!c || p === 0) return undefined;
    const k = t - c.start;
    const d = c.chunk.armDim;
    const arm = c.chunk.arm.slice(k * d, (k + p) * d);
    // A plan with non-finite joints (the safety filter holds those) is no target: ask without a guide.
    if (!arm.every(Number.isFinite)) return undefined;
    return {
      arm,
      gripper: c.chunk.gripper.slice(k, k + p),
      gripperProb: c.chunk.gripperProb.slice(k, k + p),
      delay: Math.min(p, this.options.delaySteps()),
      ...(this.options.maxGuidanceWeight !== undefined
        ? { maxGuidanceWeight: this.options.maxGuidanceWeight }
        : {}),
    };
  }

  reset(): void {
    this.current = null;
  }
}
