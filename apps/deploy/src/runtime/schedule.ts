/**
 * Chunks → one action per control step, when chunks arrive asynchronously. Each chunk is tagged with the
 * step whose observation produced it; step `t` of the loop uses entry `t − start` of a chunk.
 * - `QueueSchedule`: the newest chunk's first `actionsPerChunk` actions (steps that passed while the
 *   model ran are skipped); asks for a new chunk `prefetch` steps before the plan runs out.
 * - `EnsembleSchedule` (ACT temporal ensembling): the weighted mean of every chunk covering `t`, weights
 *   exp(−k·i) with i = 0 for the oldest; the gripper from the same mean of close probabilities > 0.5.
 */

import type { ChunkGuide, ChunkPrediction } from '@anchor-refine/policy';

export interface ScheduledAction {
  joints: Float32Array;
  /** 0 open … 1 closed */
  gripper: number;
}

export interface ActionSchedule {
  add(start: number, chunk: ChunkPrediction): void;
  /** The action for step `t`, or undefined when no chunk covers it (the watchdog then holds). */
  actionAt(t: number): ScheduledAction | undefined;
  /** Whether to request a new chunk at step `t`. */
  wantsChunk(t: number): boolean;
  /**
   * Real-time chunking: the plan still executing from step `t` on, sent with the request at step `t`
   * (its first `delay` steps run while the model thinks). Undefined: request without a guide.
   */
  guideFor?(t: number): ChunkGuide | undefined;
  reset(): void;
}

export class QueueSchedule implements ActionSchedule {
  private chunk: ChunkPrediction | null = null;
  private start = 0;

  constructor(
    readonly actionsPerChunk: number,
    readonly prefetch = 1,
  ) {
    if (!Number.isInteger(actionsPerChunk) || actionsPerChunk < 1)
      throw new Error(`QueueSchedule: actionsPerChunk must be a positive integer, got ${actionsPerChunk}`);
  }

  add(start: number, chunk: ChunkPrediction): void {
    if (chunk.horizon < this.actionsPerChunk)
      throw new Error(
        `QueueSchedule: chunk horizon ${chunk.horizon} < actionsPerChunk ${this.actionsPerChunk}`,
      );
    this.chunk = chunk;
    this.start = start;
  }

  private end(): number {
    return this.chunk ? this.start + this.actionsPerChunk : -1;
  }

  actionAt(t: number): ScheduledAction | undefined {
    const c = this.chunk;
    const k = t - this.start;
    if (!c || k < 0 || t >= this.end()) return undefined;
    return { joints: c.arm.slice(k * c.armDim, (k + 1) * c.armDim), gripper: c.gripper[k] };
  }

  wantsChunk(t: number): boolean {
    return this.end() - t <= this.prefetch;
  }

  reset(): void {
    this.chunk = null;
  }
}

export class EnsembleSchedule implements ActionSchedule {
  private chunks: Array<{ start: number; chunk: ChunkPrediction }> = [];

  constructor(readonly k: number) {
    if (!(k >= 0)) throw new Error(`EnsembleSchedule: k must be ≥ 0, got ${k}`);
  }

  add(start: number, chunk: ChunkPrediction): void {
    this.chunks.push({ start, chunk });
    this.chunks.sort((a, b) => a.start - b.start);
  }

  actionAt(t: number): ScheduledAction | undefined {
    this.chunks = this.chunks.filter((c) => t - c.start < c.chunk.horizon);
    const live = this.chunks.filter((c) => t >= c.start);
    if (live.length === 0) return undefined;
    const d = live[0].chunk.armDim;
    const joints = new Float64Array(d);
    let prob = 0;
    let wsum = 0;
    live.forEach(({ start, chunk }, i) => {
      const w = Math.exp(-this.k * i);
      const s = t - start;
      for (let j = 0; j < d; j++) joints[j] += w * chunk.arm[s * d + j];
      prob += w * chunk.gripperProb[s];
      wsum += w;
    });
    return { joints: Float32Array.from(joints, (x) => x / wsum), gripper: prob / wsum > 0.5 ? 1 : 0 };
  }

  wantsChunk(): boolean {
    return true;
  }

  reset(): void {
    this.chunks = [];
  }
}
