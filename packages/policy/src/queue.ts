/**
 * Turning chunks into one action per control step.
 *
 * - `ChunkQueue`: execute the first `actionsPerChunk` actions of a chunk, then ask for a new one.
 * - `ActionSelector`: what a policy's selectAction needs — its observation history, and one of the two above.
 * - `TemporalEnsembler` (ACT): predict a chunk every step; the action for step t is the weighted mean of
 *   every stored prediction for t with weights exp(−k·i), i = 0 for the oldest. The gripper is decided by
 *   the same weighted mean of the composed close probabilities, thresholded at 0.5.
 */

/** One predicted chunk in raw action units: arm [H, D−1] row-major and the close probability [H]. */
export interface ChunkPrediction {
  arm: Float32Array;
  gripperProb: Float32Array;
  /** [H] 1 = closed: the policy's own gripper decision per step. */
  gripper: Uint8Array;
  horizon: number;
  armDim: number;
}

/** Flattens step `k` of a chunk into an action [D] = arm then gripper ∈ {0,1}. */
export function chunkStep(chunk: ChunkPrediction, k: number): Float32Array {
  const a = new Float32Array(chunk.armDim + 1);
  a.set(chunk.arm.subarray(k * chunk.armDim, (k + 1) * chunk.armDim));
  a[chunk.armDim] = chunk.gripper[k];
  return a;
}

export class ChunkQueue {
  private queue: Float32Array[] = [];

  constructor(readonly actionsPerChunk: number) {
    if (!Number.isInteger(actionsPerChunk) || actionsPerChunk <= 0) {
      throw new Error(`ChunkQueue: actionsPerChunk must be a positive integer, got ${actionsPerChunk}`);
    }
  }

  get needsChunk(): boolean {
    return this.queue.length === 0;
  }

  get length(): number {
    return this.queue.length;
  }

  push(chunk: ChunkPrediction): void {
    if (chunk.horizon < this.actionsPerChunk) {
      throw new Error(
        `ChunkQueue: chunk of ${chunk.horizon} steps is shorter than actionsPerChunk ${this.actionsPerChunk}`,
      );
    }
    for (let k = 0; k < this.actionsPerChunk; k++) this.queue.push(chunkStep(chunk, k));
  }

  pop(): Float32Array {
    const a = this.queue.shift();
    if (!a) throw new Error('ChunkQueue: empty (push a chunk first)');
    return a;
  }

  reset(): void {
    this.queue = [];
  }
}

export class TemporalEnsembler {
  private chunks: Array<{ start: number; chunk: ChunkPrediction }> = [];
  private step = 0;

  constructor(readonly k: number) {
    if (!(k >= 0)) throw new Error(`TemporalEnsembler: k must be ≥ 0, got ${k}`);
  }

  /** Adds the chunk predicted at the current step and returns the ensembled action for this step. */
  update(chunk: ChunkPrediction): Float32Array {
    this.chunks.push({ start: this.step, chunk });
    this.chunks = this.chunks.filter((c) => this.step - c.start < c.chunk.horizon);
    const d = chunk.armDim;
    const arm = new Float64Array(d);
    let prob = 0;
    let wsum = 0;
    // Oldest first: i = 0 gets weight 1, newer predictions exp(−k·i).
    this.chunks.forEach(({ start, chunk: c }, i) => {
      const w = Math.exp(-this.k * i);
      const s = this.step - start;
      for (let j = 0; j < d; j++) arm[j] += w * c.arm[s * d + j];
      prob += w * c.gripperProb[s];
      wsum += w;
    });
    const out = new Float32Array(d + 1);
    for (let j = 0; j < d; j++) out[j] = arm[j] / wsum;
    out[d] = prob / wsum > 0.5 ? 1 : 0;
    this.step++;
    return out;
  }

  reset(): void {
    this.chunks = [];
    this.step = 0;
  }
}

/**
 * The per-episode state behind a policy's `selectAction`: the last `history` observations (oldest first),
 * and either a chunk queue (`temporalEnsemble` null) or a temporal ensembler.
 */
export class ActionSelector<O> {
  private readonly observations: O[] = [];
  private readonly queue: ChunkQueue;
  private readonly ensembler: TemporalEnsembler | undefined;

  constructor(
    execution: { actionsPerChunk: number; temporalEnsemble: number | null },
    readonly history: number,
  ) {
    this.queue = new ChunkQueue(execution.actionsPerChunk);
    this.ensembler =
      execution.temporalEnsemble === null ? undefined : new TemporalEnsembler(execution.temporalEnsemble);
  }

  /** Records `obs` and returns this step's action [D], calling `predict` on the history when a chunk is due. */
  select(obs: O, predict: (history: readonly O[]) => ChunkPrediction): Float32Array {
    this.observations.push(obs);
    if (this.observations.length > this.history) this.observations.shift();
    if (this.ensembler) return this.ensembler.update(predict(this.observations));
    if (this.queue.needsChunk) this.queue.push(predict(this.observations));
    return this.queue.pop();
  }

  /** Clears the history, the queue and the ensembler (episode start). */
  reset(): void {
    this.observations.length = 0;
    this.queue.reset();
    this.ensembler?.reset();
  }
}
