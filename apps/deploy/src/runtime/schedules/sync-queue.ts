/**
 * The synchronous chunk queue (`--schedule queue`): execute `actionsPerChunk` actions of a chunk, then
 * ask for the next one and wait for it, holding position (the watchdog holds while nothing is queued).
 * The robot did not move while it waited, so a chunk starts from its first action at the step it
 * arrives. (The loop's default without `--schedule` is the prefetching `QueueSchedule`, which instead
 * skips the steps that passed while the model ran.)
 */
import type { ChunkPrediction } from '@anchor-refine/policy';
import type { ActionSchedule, ScheduledAction } from '../schedule.js';

export class SyncQueueSchedule implements ActionSchedule {
  private chunk: ChunkPrediction | null = null;
  /** the step the chunk's first action runs at; null until the first step after it arrived */
  private start: number | null = null;

  constructor(readonly actionsPerChunk: number) {
    if (!Number.isInteger(actionsPerChunk) || actionsPerChunk < 1)
      throw new Error(
        `SyncQueueSchedule: actionsPerChunk must be a positive integer, got ${actionsPerChunk}`,
      );
  }

  add(_start: number, chunk: ChunkPrediction): void {
    if (chunk.horizon < this.actionsPerChunk)
      throw new Error(
        `SyncQueueSchedule: chunk horizon ${chunk.horizon} < actionsPerChunk ${this.actionsPerChunk}`,
      );
    this.chunk = chunk;
    this.start = null;
  }

  actionAt(t: number): ScheduledAction | undefined {
    const c = this.chunk;
    if (!c) return undefined;
    if (this.start === null) this.start = t;
    const k = t - this.start;
    if (k < 0 || k >= this.actionsPerChunk) return undefined;
    return { joints: c.arm.slice(k * c.armDim, (k + 1) * c.armDim), gripper: c.gripper[k] };
  }

  wantsChunk(t: number): boolean {
    if (!this.chunk) return true;
    return this.start !== null && t >= this.start + this.actionsPerChunk;
  }

  reset(): void {
    this.chunk = null;
    this.start = null;
  }
}
