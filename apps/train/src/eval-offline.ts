/**
 * `eval --offline`: a checkpoint against the frames of a dataset (by default its validation episodes,
 * with the training split's seed and fraction). Per frame the policy predicts a chunk from the raw
 * observation history exactly as at inference; reported are the arm error (raw units²) and gripper
 * decision accuracy of the anchor alone and of AnchorRefine (pooled and per task), the gripper error as a function of the
 * signed distance (in steps) from the nearest gripper switch, and residual compactness (mean ℓ2 norm
 * and covariance trace of normalized ground-truth chunks A vs residual targets R = A − Â^anc).
 */

import { selectBackend } from '@anchor-refine/core-tensors';
import { type LeRobotDataset, openDataset, resizeBilinear, Sampler } from '@anchor-refine/datasets';
import { type AnyPolicy, loadPolicy, type PolicyObservation, policyShape } from '@anchor-refine/policy';
import { ARM_DIM, GRIPPER_INDEX, GRIPPER_STATE_THRESHOLD, samplerConfig } from './data.js';

export interface OfflineOptions {
  checkpoint: string;
  dataset: string;
  split?: 'val' | 'all';
  seed?: number;
  valFraction?: number;
  /** Cap on evaluated frames (evenly spread). */
  maxFrames?: number;
  /** Distances from a switch reported: −window … +window. */
  window?: number;
}

export interface OfflineResult {
  frames: number;
  episodes: number;
  anchor: { armMse: number; gripperAccuracy: number };
  refined: { armMse: number; gripperAccuracy: number };
  /**
   * The same two errors per task (dataset task string), over the chunk steps of that task's frames:
   * `steps` weights them, so Σ steps·armMse / Σ steps is the pooled figure above.
   */
  tasks: {
    task: string;
    frames: number;
    steps: number;
    anchor: { armMse: number; gripperAccuracy: number };
    refined: { armMse: number; gripperAccuracy: number };
  }[];
  /** distance from the nearest switch → error rate (null where no sample) */
  switchErrors: { distance: number; anchor: number | null; refined: number | null; count: number }[];
  compactness: {
    raw: { meanNorm: number; covTrace: number };
    residual: { meanNorm: number; covTrace: number };
    chunks: number;
  };
}

function compact(vectors: Float64Array[]): { meanNorm: number; covTrace: number } {
  const n = vectors.length;
  if (n === 0) return { meanNorm: 0, covTrace: 0 };
  const d = vectors[0].length;
  const mean = new Float64Array(d);
  let norm = 0;
  for (const v of vectors) {
    let s = 0;
    for (let i = 0; i < d; i++) {
      mean[i] += v[i] / n;
      s += v[i] * v[i];
    }
    norm += Math.sqrt(s) / n;
  }
  let trace = 0;
  for (const v of vectors) for (let i = 0; i < d; i++) trace += (v[i] - mean[i]) ** 2 / Math.max(1, n - 1);
  return { meanNorm: norm, covTrace: trace };
}

async function observation(
  ds: LeRobotDataset,
  i: number,
  size: number,
  task: string,
): Promise<PolicyObservation> {
  const img = async (key: string) => {
    const im = await ds.image(key, i);
    return im.height === size && im.width === size ? im : resizeBilinear(im, size, size);
  };
  const state = ds.value('observation.state', i) as Float32Array;
  return {
    images: { front: await img('observation.images.front'), wrist: await img('observation.images.wrist') },
    state: Array.from(state.subarray(0, ARM_DIM)),
    gripperState: state[GRIPPER_INDEX] > GRIPPER_STATE_THRESHOLD ? 1 : 0,
    task,
  };
}

export async function evalOffline(o: OfflineOptions): Promise<OfflineResult> {
  await selectBackend('native');
  const policy: AnyPolicy = await loadPolicy(o.checkpoint);
  try {
    const ds = await openDataset(o.dataset);
    const cfg = policy.config;
    const { imageSize: size, horizon: H, history: L } = policyShape(cfg);
    const window = o.window ?? 5;
    let episodes: number[];
    if ((o.split ?? 'val') === 'all') episodes = ds.episodes.map((_, e) => e);
    else {
      const s = new Sampler(
        ds,
        samplerConfig(cfg, { seed: o.seed ?? 0, batchSize: 1, valFraction: o.valFraction ?? 0.1 }),
      );
      episodes = s.splitEpisodes.val;
      if (episodes.length === 0)
        throw new Error(
          'eval --offline: the validation split is empty; use --split all or a valFraction > 0',
        );
    }
    const frames: { ep: number; f: number }[] = [];
    for (const e of episodes)
      for (let f = ds.episodes[e].from; f < ds.episodes[e].to; f++) frames.push({ ep: e, f });
    const stride = o.maxFrames && frames.length > o.maxFrames ? frames.length / o.maxFrames : 1;
    const picked =
      stride === 1
        ? frames
        : Array.from({ length: o.maxFrames ?? 0 }, (_, i) => frames[Math.floor(i * stride)]);
    const { mean: aMean, std: aStd } = policy.normalizationStats.action;
    let armA = 0;
    let armR = 0;
    let armN = 0;
    let gripA = 0;
    let gripR = 0;
    let gripN = 0;
    const bins = new Map<number, { a: number; r: number; n: number }>();
    // per task: arm sums (anchor, refined), arm count, gripper errors (anchor, refined), steps, frames
    const perTask = new Map<
      string,
      { aa: number; ar: number; an: number; ga: number; gr: number; n: number; f: number }
    >();
    const raw: Float64Array[] = [];
    const res: Float64Array[] = [];
    for (const { ep, f } of picked) {
      const info = ds.episodes[ep];
      const task = ds.tasks[Number(ds.value('task_index', f))];
      const hist: PolicyObservation[] = [];
      for (let j = Math.max(info.from, f - L + 1); j <= f; j++)
        hist.push(await observation(ds, j, size, task));
      const c = policy.predictActionChunk(hist);
      const t = perTask.get(task) ?? { aa: 0, ar: 0, an: 0, ga: 0, gr: 0, n: 0, f: 0 };
      perTask.set(task, t);
      t.f++;
      const grip = (j: number) => ((ds.value('action', j) as Float32Array)[GRIPPER_INDEX] > 0.5 ? 1 : 0);
      const switches: number[] = [];
      for (let j = info.from + 1; j < info.to; j++) if (grip(j) !== grip(j - 1)) switches.push(j);
      const full = f + H <= info.to;
      const rv = new Float64Array(H * ARM_DIM);
      const sv = new Float64Array(H * ARM_DIM);
      for (let k = 0; k < H && f + k < info.to; k++) {
        const act = ds.value('action', f + k) as Float32Array;
        for (let d = 0; d < ARM_DIM; d++) {
          const truth = act[d];
          const ea = (c.anchorArm[k * ARM_DIM + d] - truth) ** 2;
          const er = (c.arm[k * ARM_DIM + d] - truth) ** 2;
          armA += ea;
          armR += er;
          armN++;
          t.aa += ea;
          t.ar += er;
          t.an++;
          const nTruth = (truth - aMean[d]) / Math.max(aStd[d], 1e-6);
          const nAnc = (c.anchorArm[k * ARM_DIM + d] - aMean[d]) / Math.max(aStd[d], 1e-6);
          rv[k * ARM_DIM + d] = nTruth;
          sv[k * ARM_DIM + d] = nTruth - nAnc;
        }
        const y = grip(f + k);
        const ea = (c.anchorGripperProb[k] >= 0.5 ? 1 : 0) !== y ? 1 : 0;
        const er = c.gripper[k] !== y ? 1 : 0;
        gripA += ea;
        gripR += er;
        gripN++;
        t.ga += ea;
        t.gr += er;
        t.n++;
        if (switches.length) {
          const at = f + k;
          let best = switches[0];
          for (const s of switches) if (Math.abs(at - s) < Math.abs(at - best)) best = s;
          const dist = at - best;
          if (Math.abs(dist) <= window) {
            const b = bins.get(dist) ?? { a: 0, r: 0, n: 0 };
            b.a += ea;
            b.r += er;
            b.n++;
            bins.set(dist, b);
          }
        }
      }
      if (full) {
        raw.push(rv);
        res.push(sv);
      }
    }
    const switchErrors = [];
    for (let d = -window; d <= window; d++) {
      const b = bins.get(d);
      switchErrors.push({
        distance: d,
        anchor: b ? b.a / b.n : null,
        refined: b ? b.r / b.n : null,
        count: b?.n ?? 0,
      });
    }
    return {
      frames: picked.length,
      episodes: episodes.length,
      anchor: { armMse: armA / Math.max(1, armN), gripperAccuracy: 1 - gripA / Math.max(1, gripN) },
      refined: { armMse: armR / Math.max(1, armN), gripperAccuracy: 1 - gripR / Math.max(1, gripN) },
      tasks: [...perTask].map(([task, t]) => ({
        task,
        frames: t.f,
        steps: t.n,
        anchor: { armMse: t.aa / Math.max(1, t.an), gripperAccuracy: 1 - t.ga / Math.max(1, t.n) },
        refined: { armMse: t.ar / Math.max(1, t.an), gripperAccuracy: 1 - t.gr / Math.max(1, t.n) },
      })),
      switchErrors,
      compactness: { raw: compact(raw), residual: compact(res), chunks: raw.length },
    };
  } finally {
    policy.dispose();
  }
}
