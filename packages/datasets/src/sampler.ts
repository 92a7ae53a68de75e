import { GripperMapping } from './gripper.js';
import { type DecodedImage, resizeBilinear } from './image-codec.js';
import { createNormalizer, type Normalizer, type NormMode } from './normalize.js';
import type { LeRobotDataset } from './reader.js';
import { mixSeed, mulberry32, shuffleInPlace } from './rng.js';
import { type ResolvedSamplerConfig, type SamplerConfig, validateSamplerConfig } from './sampler-config.js';

export interface SampleBatch {
  batchSize: number;
  history: number;
  horizon: number;
  /** camera name → uint8 [B, L, Hi, Wi, 3] */
  images: Record<string, { data: Uint8Array; shape: [number, number, number, number, number] }>;
  /** normalized proprio without the gripper channel, float32 [B, L, S] */
  state: { data: Float32Array; shape: [number, number, number] };
  /** gripper state in {0,1} (1 = closed) [B, L] */
  gripperState: Float32Array;
  /** 1 = real frame; history is left-aligned (slot n−1 = current frame, slots ≥ n padding) [B, L] */
  historyMask: Uint8Array;
  /** per history slot, the chunk starting at that slot's frame: normalized arm channels, gripper {0,1} last [B, L, H, D] */
  actions: { data: Float32Array; shape: [number, number, number, number] };
  /** 1 = real action, 0 = past the episode end or a padded history slot [B, L, H] */
  actionMask: Uint8Array;
  taskIndex: Int32Array;
  tasks: string[];
  episodeIndex: Int32Array;
  frameIndex: Int32Array;
  /** with `futureOffset`: camera → uint8 [B, L, Hi, Wi, 3], each slot's frame that many steps later (clamped to the episode) */
  futureImages?: Record<string, { data: Uint8Array; shape: [number, number, number, number, number] }>;
}

export type Split = 'train' | 'val';

/**
 * Turns frames of a LeRobot dataset into training batches (action chunks with end-of-episode padding masks,
 * left-aligned observation history, gripper as {0,1}, normalized state/actions). Deterministic: the same
 * config, seed and epoch give the same batches, in this thread or in `DataLoader` workers.
 */
export class Sampler {
  readonly config: ResolvedSamplerConfig;
  readonly stateNormalizer: Normalizer;
  readonly actionNormalizer: Normalizer;
  readonly actionGripper: GripperMapping;
  readonly stateGripper: GripperMapping;
  /** episode positions in each split */
  readonly splitEpisodes: Record<Split, number[]>;
  private readonly stateDim: number;
  private readonly actionDim: number;

  constructor(
    readonly dataset: LeRobotDataset,
    config: SamplerConfig,
  ) {
    const cfg = validateSamplerConfig(config, dataset);
    this.config = cfg;
    const feats = dataset.features;
    this.stateDim = feats[cfg.stateKey].shape[0];
    this.actionDim = feats[cfg.actionKey].shape[0];
    const mode = (k: string): NormMode => cfg.normalization.overrides?.[k] ?? cfg.normalization.default;
    const stats = cfg.stats ?? dataset.stats;
    this.stateNormalizer = createNormalizer(stats, cfg.stateKey, mode(cfg.stateKey), this.stateDim);
    this.actionNormalizer = createNormalizer(stats, cfg.actionKey, mode(cfg.actionKey), this.actionDim);
    const g = cfg.gripper;
    this.actionGripper = new GripperMapping(
      { convention: g.convention, threshold: g.threshold, values: g.values },
      'gripper',
    );
    this.stateGripper = new GripperMapping(
      {
        convention: g.stateConvention ?? g.convention,
        threshold: g.stateThreshold ?? (g.stateConvention ? undefined : g.threshold),
        values: g.stateConvention ? undefined : g.values,
      },
      'gripper.state',
    );
    this.splitEpisodes = this.makeSplit();
  }

  private makeSplit(): Record<Split, number[]> {
    const E = this.dataset.episodes.length;
    const s = this.config.split;
    let val: number[];
    if (s.valEpisodes) val = [...new Set(s.valEpisodes)];
    else {
      const order = Array.from({ length: E }, (_, i) => i);
      shuffleInPlace(order, mulberry32(mixSeed(this.config.seed, 0x5eed)));
      // At least one validation episode whenever a fraction > 0 is asked for, never all of them.
      const nVal = s.valFraction
        ? Math.min(E - 1, Math.max(1, Math.round((s.valFraction as number) * E)))
        : 0;
      val = order.slice(0, nVal);
    }
    const isVal = new Set(val);
    const train = Array.from({ length: E }, (_, i) => i).filter((i) => !isVal.has(i));
    return { train, val: val.sort((a, b) => a - b) };
  }

  /**
   * Global frame indices of a split (every frame of its episodes, in episode order). In the training split
   * `oversampleStart` / `oversampleSwitches` repeat some frames right after their episode: a frame appears
   * as many times as the largest factor of a rule that covers it, times its task's `balanceTasks` factor.
   */
  frames(split: Split): Int32Array {
    const eps = this.splitEpisodes[split];
    const counts = eps.map((e) => this.frameRepeats(e, split));
    if (split === 'train' && this.config.balanceTasks) {
      const factor = this.taskFactors(eps, counts);
      eps.forEach((e, k) => {
        const f = factor.get(this.episodeTask(e)) ?? 1;
        for (let i = 0; i < counts[k].length; i++) counts[k][i] *= f;
      });
    }
    const total = counts.reduce((s, c) => s + c.reduce((a, b) => a + b, 0), 0);
    const out = new Int32Array(total);
    let o = 0;
    eps.forEach((e, k) => {
      const ep = this.dataset.episodes[e];
      const c = counts[k];
      for (let g = ep.from; g < ep.to; g++) out[o++] = g;
      for (let r = 2; r <= Math.max(...c); r++)
        for (let g = ep.from; g < ep.to; g++) if (c[g - ep.from] >= r) out[o++] = g;
    });
    return out;
  }

  /** task_index of an episode (its first frame's). */
  private episodeTask(e: number): number {
    return this.dataset.column('task_index')[this.dataset.episodes[e].from];
  }

  /** `balanceTasks`: task_index → round(F_max / F_task), F counted with the other rules' repeats. */
  taskFactors(eps: number[], counts: Uint16Array[]): Map<number, number> {
    const frames = new Map<number, number>();
    eps.forEach((e, k) => {
      const t = this.episodeTask(e);
      frames.set(t, (frames.get(t) ?? 0) + counts[k].reduce((a, b) => a + b, 0));
    });
    const max = Math.max(...frames.values());
    return new Map([...frames].map(([t, n]) => [t, Math.max(1, Math.round(max / n))]));
  }

  /** Times each frame of an episode appears per epoch (1 outside the oversampling rules). */
  private frameRepeats(e: number, split: Split): Uint16Array {
    const ep = this.dataset.episodes[e];
    const n = ep.to - ep.from;
    const c = new Uint16Array(n).fill(1);
    if (split !== 'train') return c;
    const start = this.config.oversampleStart;
    if (start) for (let f = 0; f < Math.min(start.frames, n); f++) c[f] = Math.max(c[f], start.factor);
    const sw = this.config.oversampleSwitches;
    if (sw) {
      const col = this.dataset.column(this.config.actionKey);
      const D = this.actionDim;
      const gi = this.config.gripper.actionIndex;
      const bin = (f: number) => this.actionGripper.toBinary(col[(ep.from + f) * D + gi]);
      for (let f = 1; f < n; f++) {
        if (bin(f) === bin(f - 1)) continue; // frame f is the first with the new gripper command
        for (let w = Math.max(0, f - sw.before); w <= Math.min(n - 1, f + sw.after); w++)
          c[w] = Math.max(c[w], sw.factor);
      }
    }
    return c;
  }

  /**
   * Frame indices of each batch of an epoch. Train order is shuffled by (seed, epoch); validation keeps
   * dataset order unless `shuffle` is set.
   */
  epochBatches(split: Split, epochIndex: number, shuffle = split === 'train'): Int32Array[] {
    const frames = this.frames(split);
    if (shuffle)
      shuffleInPlace(frames, mulberry32(mixSeed(this.config.seed, epochIndex, split === 'train' ? 1 : 2)));
    const B = this.config.batchSize;
    const out: Int32Array[] = [];
    for (let i = 0; i < frames.length; i += B) {
      if (i + B > frames.length && this.config.dropLast) break;
      out.push(frames.subarray(i, Math.min(i + B, frames.length)));
    }
    return out;
  }

  /** Batches of one epoch, assembled in this thread. */
  async *epoch(split: Split, epochIndex: number, shuffle?: boolean): AsyncGenerator<SampleBatch> {
    for (const idx of this.epochBatches(split, epochIndex, shuffle)) yield await this.batch(idx);
  }

  /** Assembles the batch of the given global frame indices. */
  async batch(indices: ArrayLike<number>): Promise<SampleBatch> {
    const ds = this.dataset;
    const cfg = this.config;
    const B = indices.length;
    const L = cfg.history;
    const H = cfg.horizon;
    const g = cfg.gripper;
    const S = g.stateIndex === undefined ? this.stateDim : this.stateDim - 1;
    const D = this.actionDim;
    const state = new Float32Array(B * L * S);
    const gripperState = new Float32Array(B * L);
    const historyMask = new Uint8Array(B * L);
    const actions = new Float32Array(B * L * H * D);
    const actionMask = new Uint8Array(B * L * H);
    const taskIndex = new Int32Array(B);
    const episodeIndex = new Int32Array(B);
    const frameIndex = new Int32Array(B);
    const tasks: string[] = [];
    const stateCol = ds.column(cfg.stateKey);
    const actionCol = ds.column(cfg.actionKey);
    const taskCol = ds.column('task_index');
    const sBuf = new Float32Array(this.stateDim);
    const aBuf = new Float32Array(D);
    /** normalized action of frame `fr` written to actions at `o`: arm channels then gripper {0,1} */
    const putAction = (fr: number, o: number) => {
      this.actionNormalizer.normalize(actionCol.subarray(fr * D, (fr + 1) * D), aBuf);
      let c = 0;
      for (let j = 0; j < D; j++) if (j !== g.actionIndex) actions[o + c++] = aBuf[j];
      actions[o + D - 1] = this.actionGripper.toBinary(actionCol[fr * D + g.actionIndex]);
    };
    // frames whose images are needed: slot → global frame (−1 = padding), and its future frame
    const slotFrame = new Int32Array(B * L).fill(-1);
    const k = cfg.futureOffset;
    const futureFrame = new Int32Array(k ? B * L : 0).fill(-1);
    for (let b = 0; b < B; b++) {
      const t = indices[b];
      const ep = ds.episodes[ds.episodePosition(t)];
      taskIndex[b] = taskCol[t];
      tasks.push(ds.tasks[taskCol[t]]);
      episodeIndex[b] = ep.episodeIndex;
      frameIndex[b] = t - ep.from;
      const n = Math.min(L, t - ep.from + 1);
      for (let j = 0; j < n; j++) {
        const fr = t - n + 1 + j;
        const slot = b * L + j;
        slotFrame[slot] = fr;
        if (k) futureFrame[slot] = Math.min(fr + k, ep.to - 1);
        historyMask[slot] = 1;
        this.stateNormalizer.normalize(stateCol.subarray(fr * this.stateDim, (fr + 1) * this.stateDim), sBuf);
        let c = 0;
        for (let k = 0; k < this.stateDim; k++) if (k !== g.stateIndex) state[slot * S + c++] = sBuf[k];
        if (g.stateIndex !== undefined) {
          gripperState[slot] = this.stateGripper.toBinary(stateCol[fr * this.stateDim + g.stateIndex]);
        } else {
          // No gripper channel in the state: use the last gripper command (GR-1 feeds CALVIN's previous
          // gripper action the same way); the first frame of an episode uses its own command.
          const prev = fr > ep.from ? fr - 1 : fr;
          gripperState[slot] = this.actionGripper.toBinary(actionCol[prev * D + g.actionIndex]);
        }
        for (let h = 0; h < H; h++) {
          const a = fr + h;
          const real = a < ep.to;
          // Past the end: repeat the last real action (LeRobot pads the same way) with mask 0.
          putAction(real ? a : ep.to - 1, (slot * H + h) * D);
          actionMask[slot * H + h] = real ? 1 : 0;
        }
      }
    }
    const images: SampleBatch['images'] = {};
    const futureImages: SampleBatch['images'] = {};
    for (const [key, name] of Object.entries(cfg.cameras)) {
      const need = [...new Set([...slotFrame, ...futureFrame].filter((f) => f >= 0))];
      // Video cameras are decoded at the batch size directly; stored images are resized here.
      const decoded = await ds.images(key, need, cfg.imageSize ? { size: cfg.imageSize } : {});
      const byFrame = new Map<number, DecodedImage>();
      need.forEach((f, i) => {
        const img = decoded[i];
        const size = cfg.imageSize;
        const resize = size !== undefined && (img.height !== size[0] || img.width !== size[1]);
        byFrame.set(f, resize ? resizeBilinear(img, size[0], size[1]) : img);
      });
      const first = byFrame.values().next().value as DecodedImage;
      const hi = first.height;
      const wi = first.width;
      const per = hi * wi * 3;
      const gather = (frames: Int32Array) => {
        const data = new Uint8Array(B * L * per);
        for (let s = 0; s < B * L; s++) {
          if (frames[s] >= 0) data.set((byFrame.get(frames[s]) as DecodedImage).data, s * per);
        }
        return { data, shape: [B, L, hi, wi, 3] as [number, number, number, number, number] };
      };
      images[name] = gather(slotFrame);
      if (k) futureImages[name] = gather(futureFrame);
    }
    return {
      batchSize: B,
      history: L,
      horizon: H,
      images,
      state: { data: state, shape: [B, L, S] },
      gripperState,
      historyMask,
      actions: { data: actions, shape: [B, L, H, D] },
      actionMask,
      taskIndex,
      tasks,
      episodeIndex,
      frameIndex,
      ...(k ? { futureImages } : {}),
    };
  }
}
