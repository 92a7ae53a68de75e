/**
 * LeRobot-style asynchronous inference: the robot keeps executing its action queue, a new chunk is
 * requested when the queue falls to `threshold` of a chunk (LeRobot's `chunk_size_threshold`), and where
 * the new chunk overlaps actions still queued the two are merged, new·w + old·(1 − w) (LeRobot's
 * `weighted_average` uses w = 0.7). The gripper merges the close probabilities the same way (> 0.5 closes).
 * Each chunk is tagged with the step whose observation produced it; steps that passed while the model
 * ran are dropped.
 */
import type { ChunkPrediction } from '@anchor-refine/policy';
import type { ActionSchedule, ScheduledAction } from '../schedule.js';

interface Planned {
  joints: Float32Array;
  prob: number;
}

export class AsyncBlendSchedule implements ActionSchedule {
  private readonly plan = new Map<number, Planned>();
  private last = -1;

  constructor(
    /** actions of each chunk that are queued (≤ the horizon) */
    readonly actionsPerChunk: number,
    /** request when queued actions ≤ threshold · actionsPerChunk (0 < threshold ≤ 1) */
    readonly threshold = 0.5,
    /** weight of the new chunk where it overlaps the queue */
    readonly newWeight = 0.7,
  ) {
    if (!Number.isInteger(actionsPerChunk) || actionsPerChunk < 1)
      throw new Error(
        `AsyncBlendSchedule: actionsPerChunk must be a positive integer, got ${actionsPerChunk}`,
      );
    if (!(threshold > 0 && threshold <= 1))
      throw new Error(`AsyncBlendSchedule: threshold must be in (0, 1], got ${threshold}`);
    if (!(newWeight >= 0 && newWeight <= 1))
      throw new Error(`AsyncBlendSchedule: newWeight must be in [0, 1], got ${newWeight}`);
  }

  add(start: number, chunk: ChunkPrediction): void {
    const n = Math.min(this.actionsPerChunk, chunk.horizon);
    const d = chunk.armDim;
    for (let k = 0; k < n; k++) {
      const s = start + k;
      if (s <= this.last) continue; // already executed
      const joints = chunk.arm.slice(k * d, (k + 1) * d);
      const prob = chunk.gripperProb[k];
      const old = this.plan.get(s);
      if (!old) this.plan.set(s, { joints, prob });
      else {
        const w = this.newWeight;
        for (let j = 0; j < d; j++) joints[j] = w * joints[j] + (1 - w) * old.joints[j];
        this.plan.set(s, { joints, prob: w * prob + (1 - w) * old.prob });
      }
    }
  }

  actionAt(t: number): ScheduledAction | undefined {
    for (const s of this.plan.keys()) if (s < t) this.plan.delete(s);
    this.last = Math.max(this.last, t);
    const p = this.plan.get(t);
    return p ? { joints: p.joints.slice(), gripper: p.prob > 0.5 ? 1 : 0 } : undefined;
  }

  /** Queued actions from step t on. */
  queued(t: number): number {
    let n = 0;
    for (const s of this.plan.keys()) if (s >= t) n++;
    return n;
  }

  wantsChunk(t: number): boolean {
    return this.queued(t) <= this.threshold * this.actionsPerChunk;
  }

  reset(): void {
    this.plan.clear();
    this.last = -1;
  }
}
