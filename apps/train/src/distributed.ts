/**
 * Data-parallel training across processes (issue 16): one DistTrain per rank wraps a gloo process group.
 * The config's batchSize is the global batch: every rank takes its contiguous slice of each global batch
 * (so the data order, and the result, do not depend on the world size), computes gradients, and the
 * ranks all-reduce them through a fusion buffer as a mean weighted by valid action steps — the
 * gradient of the global batch's loss, because the policy losses are sums over valid steps divided by
 * their count. Every rank then applies the same update. Rank 0 broadcasts the start state (weights,
 * optimizer moments, step) so `--resume` works from any world size; only rank 0 writes files.
 */
import {
  type DistEnv,
  DistributedError,
  FusionBuffer,
  ProcessGroup,
  readDistEnv,
} from '@anchor-refine/distributed';
import {
  clipGradScale,
  decodeSafetensors,
  encodeSafetensors,
  gradsByParamName,
  type Optimizer,
  toTensors,
} from '@anchor-refine/nn';
import {
  type AnyPolicy,
  disposeBatchTensors,
  type PolicyBatch,
  type TrainStepOptions,
  type TrainStepResult,
  trainUnfrozen,
} from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import type { PhaseName } from './config.js';

export interface DistTrainOptions {
  /** Collective timeout (default 30 min: rank 0 validates and checkpoints while the others wait). */
  timeoutMs?: number;
  /** A silent peer counts as hung after this long (default 2 min). */
  livenessTimeoutMs?: number;
  /** Fusion bucket size (default 25 MiB, DDP's). */
  bucketBytes?: number;
}

/** Communication of the last step: collectives, bytes per rank, wall time of the all-reduce. */
export interface CommStats {
  calls: number;
  bytes: number;
  ms: number;
}

export class DistTrain {
  private fusion: FusionBuffer | undefined;
  private fusionKey = '';
  last: CommStats = { calls: 0, bytes: 0, ms: 0 };

  constructor(
    readonly pg: ProcessGroup,
    private readonly bucketBytes?: number,
  ) {}

  get rank(): number {
    return this.pg.rank;
  }
  get size(): number {
    return this.pg.size;
  }
  get isRoot(): boolean {
    return this.pg.rank === 0;
  }

  /** The global batch size must split evenly over the ranks. */
  checkBatch(batchSize: number, phase: PhaseName): void {
    if (batchSize % this.size !== 0)
      throw new Error(
        `train: ${phase}.batchSize ${batchSize} (the global batch) does not split over ${this.size} ranks; use a multiple of ${this.size}`,
      );
  }

  /** This rank's contiguous slice of a global batch. */
  shard<T extends { length: number; slice(start: number, end: number): T }>(global: T): T {
    const per = global.length / this.size;
    return global.slice(this.rank * per, (this.rank + 1) * per);
  }

  /**
   * Makes every rank start from rank 0's state: the model's parameter layout and normalization must
   * match (else an error naming the rank), then the start step, weights and optimizer state are
   * broadcast. Returns the start step.
   */
  async syncStart(policy: AnyPolicy, opt: Optimizer, startStep: number): Promise<number> {
    const layout = JSON.stringify({
      params: [...policy.stateDict()].map(([k, v]) => [k, v.shape]),
      stats: policy.normalizationStats,
    });
    const rootLayout = new TextDecoder().decode(
      await this.pg.broadcastBytes(this.isRoot ? new TextEncoder().encode(layout) : undefined),
    );
    const ok = new Float32Array([rootLayout === layout ? 1 : 0]);
    await this.pg.allReduce(ok, 'sum');
    if (rootLayout !== layout)
      throw new Error(
        `train: rank ${this.rank}'s model or dataset normalization differs from rank 0's (same config and dataset on every rank?)`,
      );
    if (ok[0] !== this.size)
      throw new Error("train: another rank's model or dataset normalization differs from rank 0's");
    const step = new Float64Array([startStep]);
    await this.pg.broadcast(step);
    await this.broadcastState(policy.stateDict(), (m) => policy.loadStateDict(m), false);
    await this.broadcastState(opt.stateDict(), (m) => opt.loadStateDict(m), true);
    return step[0];
  }

  private async broadcastState(
    state: Map<string, tf.Tensor>,
    load: (m: Map<string, tf.Tensor>) => unknown,
    owned: boolean,
  ): Promise<void> {
    const bytes = this.isRoot ? encodeSafetensors(state) : undefined;
    if (owned) tf.dispose([...state.values()]);
    const got = await this.pg.broadcastBytes(bytes);
    if (this.isRoot) return;
    const tensors = toTensors(decodeSafetensors(got).tensors);
    try {
      load(tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  private fusionFor(grads: Map<string, tf.Tensor>, stats: number): FusionBuffer {
    // Gradients become ready in reverse layer order in a real backward pass; tfjs computes them all at
    // once, so the order only fixes the bucket layout (the same on every rank).
    const entries = [...grads].reverse().map(([name, g]) => ({ name, size: g.size }));
    const key = `${stats}|${entries.map((e) => `${e.name}:${e.size}`).join(',')}`;
    if (!this.fusion || key !== this.fusionKey) {
      this.fusion = new FusionBuffer(entries, stats, this.bucketBytes);
      this.fusionKey = key;
    }
    return this.fusion;
  }

  /** One data-parallel step on this rank's shard (a PolicyBatch of batchSize / worldSize samples). */
  async step(
    policy: AnyPolicy,
    optimizer: Optimizer,
    batch: PolicyBatch,
    phase: PhaseName,
    { clipNorm = 1, lr }: TrainStepOptions = {},
  ): Promise<TrainStepResult> {
    const vars = policy.trainableParameters();
    if (vars.length === 0) throw new Error(`train: nothing to train in phase '${phase}'`);
    trainUnfrozen(policy);
    const t = policy.toTensors(batch);
    let metrics: Record<string, tf.Scalar> = {};
    const owned: tf.Tensor[] = [];
    try {
      const weight = tf.tidy(() => tf.sum(t.mask)).dataSync()[0];
      const { value, grads } = tf.variableGrads(() => {
        const out = policy.forward(t, phase);
        metrics = Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, tf.keep(v)]));
        return out.loss;
      }, vars);
      owned.push(value, ...Object.values(grads));
      const byName = gradsByParamName(policy.namedParameters(), grads);
      const keys = Object.keys(metrics).sort();
      const local = [value.dataSync()[0], ...keys.map((k) => metrics[k].dataSync()[0])];
      const fusion = this.fusionFor(byName, local.length);
      const t0 = performance.now();
      const red = await fusion.reduce(
        this.pg,
        (name) => byName.get(name)?.dataSync() as Float32Array,
        weight,
        local,
      );
      this.last = { calls: red.calls, bytes: red.bytes, ms: performance.now() - t0 };
      const reduced = new Map<string, tf.Tensor>();
      for (const [name, g] of byName)
        reduced.set(name, tf.tensor(red.grads.get(name) as Float32Array, g.shape));
      owned.push(...reduced.values());
      const clip = clipGradScale(reduced, clipNorm ?? Number.MAX_VALUE);
      optimizer.step(reduced, lr, { gradScale: clip.scale });
      return {
        loss: red.stats[0],
        gradNorm: clip.totalNorm,
        metrics: {
          ...Object.fromEntries(keys.map((k, i) => [k, red.stats[i + 1]])),
          comm_ms: this.last.ms,
          comm_mb: this.last.bytes / 1e6,
        },
      };
    } finally {
      tf.dispose([...owned, ...Object.values(metrics)]);
      disposeBatchTensors(t);
    }
  }

  /** End of a phase: every rank arrives, and every rank holds rank 0's weights bit for bit. */
  async finish(policy: AnyPolicy): Promise<void> {
    const sum = new Float64Array(1);
    for (const v of policy.stateDict().values()) {
      const d = v.dataSync();
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[i] * ((i % 31) + 1);
      sum[0] += s;
    }
    const root = new Float64Array(sum);
    await this.pg.broadcast(root);
    const same = new Float32Array([root[0] === sum[0] ? 1 : 0]);
    await this.pg.allReduce(same, 'sum');
    if (same[0] !== this.size)
      throw new Error(
        `train: the ranks' weights diverged (rank ${this.rank} ${root[0] === sum[0] ? 'matches' : 'differs from'} rank 0); the run is not data-parallel-consistent`,
      );
  }

  /** Tells the other ranks why this one stops (their errors then name it and quote the message). */
  async fail(err: unknown): Promise<void> {
    if (err instanceof DistributedError) return; // a peer's failure: nothing new to say
    await this.pg.abort((err as Error).message ?? String(err));
  }

  close(): Promise<void> {
    return this.pg.close();
  }
}

/** The rank's DistTrain when the env contract names more than one process, else undefined. */
export async function openDistTrain(
  env: DistEnv | undefined = readDistEnv(),
  opts: DistTrainOptions = {},
): Promise<DistTrain | undefined> {
  if (!env || env.worldSize === 1) return undefined;
  const pg = await ProcessGroup.fromEnv(env, {
    timeoutMs: opts.timeoutMs,
    livenessTimeoutMs: opts.livenessTimeoutMs,
  });
  return new DistTrain(pg, opts.bucketBytes);
}
