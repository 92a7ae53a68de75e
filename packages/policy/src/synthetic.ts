/**
 * A synthetic reach-and-grasp task for learning tests and benchmarks: smooth, speed-limited proportional
 * reaches toward a goal seen in the cameras, a small state-dependent correction on top, and a gripper
 * that closes near contact. Deterministic for a seed; produces `PolicyBatch`es directly (normalized arm actions).
 *
 *   front camera: goal blob (red, xy) and gripper blob (green, xy); blue = goal height
 *   wrist camera: the goal relative to the gripper, centred
 *   state: gripper position p ∈ R^3 and (by default) the goal offset g − p; action (velocity): a = clip(2.5·(g − p), ±2) + c(p),
 *   c(p) = 0.3·sin(3·p_x)·(1, −1, 0.5); p ← p + 0.1·a
 *   gripper label: 1 from the first step where |g − p| < 0.25, and after
 */
import { Rng } from '@anchor-refine/nn';
import type { PolicyBatch } from './batch.js';
import type { PolicyObservation } from './policy.js';
import type { PolicyStats } from './stats.js';

export interface SyntheticTaskOptions {
  episodes: number;
  /** steps per episode */
  length?: number;
  imageSize: number;
  cameras?: readonly string[];
  seed?: number;
  /**
   * true (default): the state is [p, g − p] (6 values), the goal offset a goal-conditioned controller
   * would read; false: [p] only, so the goal must come from the cameras (slower to learn).
   */
  goalInState?: boolean;
}

interface Episode {
  goal: Float32Array;
  pos: Float32Array[]; // [T+1] positions
  actions: Float32Array[]; // [T] raw arm actions
  gripper: Uint8Array; // [T] labels (command at step t)
}

const TASK = 'reach the red target and grasp';

const GAIN = 2.5;
const VMAX = 2;
const DT = 0.1;

function clamp(v: number, m: number): number {
  return Math.max(-m, Math.min(m, v));
}

export class SyntheticReachTask {
  readonly episodes: Episode[] = [];
  readonly length: number;
  readonly imageSize: number;
  readonly cameras: readonly string[];
  readonly stats: PolicyStats;
  readonly stateDim: number;

  constructor(opts: SyntheticTaskOptions) {
    this.length = opts.length ?? 24;
    this.imageSize = opts.imageSize;
    this.cameras = opts.cameras ?? ['front', 'wrist'];
    this.stateDim = (opts.goalInState ?? true) ? 6 : 3;
    const rng = new Rng(opts.seed ?? 0);
    for (let e = 0; e < opts.episodes; e++) {
      const goal = Float32Array.from({ length: 3 }, () => rng.uniform() * 1.6 - 0.8);
      const start = Float32Array.from({ length: 3 }, () => rng.uniform() * 1.6 - 0.8);
      const pos: Float32Array[] = [start];
      const actions: Float32Array[] = [];
      const gripper = new Uint8Array(this.length);
      let closed = 0;
      for (let t = 0; t < this.length; t++) {
        const p = pos[t];
        const c = 0.3 * Math.sin(3 * p[0]);
        const corr = [c, -c, 0.5 * c];
        // proportional reach, speed-limited (a smooth, decelerating approach), plus the correction
        const a = Float32Array.from({ length: 3 }, (_, i) => clamp(GAIN * (goal[i] - p[i]), VMAX) + corr[i]);
        actions.push(a);
        pos.push(Float32Array.from({ length: 3 }, (_, i) => p[i] + DT * a[i]));
        const dist = Math.hypot(goal[0] - p[0], goal[1] - p[1], goal[2] - p[2]);
        if (dist < 0.25) closed = 1;
        gripper[t] = closed;
      }
      this.episodes.push({ goal, pos, actions, gripper });
    }
    this.stats = this.computeStats();
  }

  private computeStats(): PolicyStats {
    const moments = (rows: ArrayLike<number>[]) => {
      const n = rows[0].length;
      const mean = new Array<number>(n).fill(0);
      const sq = new Array<number>(n).fill(0);
      for (const r of rows) for (let i = 0; i < n; i++) mean[i] += r[i];
      for (let i = 0; i < n; i++) mean[i] /= rows.length;
      for (const r of rows) for (let i = 0; i < n; i++) sq[i] += (r[i] - mean[i]) ** 2;
      return { mean, std: sq.map((s) => Math.sqrt(s / rows.length)) };
    };
    const acts = this.episodes.flatMap((e) => e.actions);
    const states = this.episodes.flatMap((_, e) =>
      Array.from({ length: this.length }, (_, t) => this.state(e, t)),
    );
    return { mode: 'mean_std', state: moments(states), action: moments(acts) };
  }

  /** Renders camera `cam` at step t of episode e: HWC RGB uint8. */
  render(e: number, t: number, cam: string): Uint8Array {
    const ep = this.episodes[e];
    const p = ep.pos[t];
    const s = this.imageSize;
    const img = new Uint8Array(s * s * 3);
    const toPx = (v: number) => ((v + 1) / 2) * (s - 1);
    const sigma2 = (s / 10) ** 2;
    const blobs =
      cam === this.cameras[0]
        ? [
            { x: toPx(ep.goal[0]), y: toPx(ep.goal[1]), ch: 0, amp: 1 },
            { x: toPx(p[0]), y: toPx(p[1]), ch: 1, amp: 1 },
            { x: toPx(ep.goal[0]), y: toPx(ep.goal[1]), ch: 2, amp: (ep.goal[2] + 1) / 2 },
          ]
        : [
            { x: toPx((ep.goal[0] - p[0]) / 2), y: toPx((ep.goal[1] - p[1]) / 2), ch: 0, amp: 1 },
            {
              x: toPx((ep.goal[0] - p[0]) / 2),
              y: toPx((ep.goal[1] - p[1]) / 2),
              ch: 2,
              amp: (ep.goal[2] - p[2] + 2) / 4,
            },
          ];
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        for (const b of blobs) {
          const v = b.amp * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / sigma2);
          const k = (y * s + x) * 3 + b.ch;
          img[k] = Math.min(255, img[k] + Math.round(255 * v));
        }
      }
    }
    return img;
  }

  /** Raw state at step t: [p] or [p, g − p]. */
  state(e: number, t: number): number[] {
    const { pos, goal } = this.episodes[e];
    const p = Array.from(pos[t]);
    return this.stateDim === 6 ? [...p, goal[0] - p[0], goal[1] - p[1], goal[2] - p[2]] : p;
  }

  observation(e: number, t: number): PolicyObservation {
    const s = this.imageSize;
    return {
      images: Object.fromEntries(
        this.cameras.map((c) => [c, { data: this.render(e, t, c), height: s, width: s }]),
      ),
      state: this.state(e, t),
      gripperState: t > 0 ? this.episodes[e].gripper[t - 1] : 0,
      task: TASK,
    };
  }

  /** Raw arm actions [H, 3] and gripper labels [H] from step t (clamped at the episode end). */
  chunk(e: number, t: number, h: number): { arm: Float32Array; gripper: Uint8Array; valid: number } {
    const ep = this.episodes[e];
    const arm = new Float32Array(h * 3);
    const gripper = new Uint8Array(h);
    let valid = 0;
    for (let k = 0; k < h; k++) {
      const tt = t + k;
      if (tt >= this.length) break;
      arm.set(ep.actions[tt], k * 3);
      gripper[k] = ep.gripper[tt];
      valid++;
    }
    return { arm, gripper, valid };
  }

  /**
   * A batch of samples (episode, frame) with history L (left-aligned) and chunks of length H per slot,
   * normalized with `this.stats`. `episodeIds` restricts sampling (train/validation split by episode).
   */
  batch(
    rng: Rng,
    size: number,
    history: number,
    horizon: number,
    episodeIds: readonly number[],
  ): PolicyBatch {
    const s = this.imageSize;
    const { state: ss, action: as } = this.stats;
    const img = Object.fromEntries(this.cameras.map((c) => [c, new Uint8Array(size * history * s * s * 3)]));
    const sd = this.stateDim;
    const state = new Float32Array(size * history * sd);
    const gripperState = new Float32Array(size * history);
    const historyMask = new Uint8Array(size * history);
    const actions = new Float32Array(size * history * horizon * 4);
    const actionMask = new Uint8Array(size * history * horizon);
    for (let b = 0; b < size; b++) {
      const e = episodeIds[Math.floor(rng.uniform() * episodeIds.length)];
      const t = Math.floor(rng.uniform() * this.length);
      const n = Math.min(history, t + 1);
      for (let j = 0; j < n; j++) {
        const f = t - n + 1 + j;
        const slot = b * history + j;
        historyMask[slot] = 1;
        const o = this.observation(e, f);
        for (const c of this.cameras) img[c].set(o.images[c].data, slot * s * s * 3);
        for (let i = 0; i < sd; i++) state[slot * sd + i] = ((o.state[i] as number) - ss.mean[i]) / ss.std[i];
        gripperState[slot] = o.gripperState;
        const ch = this.chunk(e, f, horizon);
        for (let k = 0; k < ch.valid; k++) {
          const base = (slot * horizon + k) * 4;
          for (let i = 0; i < 3; i++) actions[base + i] = (ch.arm[k * 3 + i] - as.mean[i]) / as.std[i];
          actions[base + 3] = ch.gripper[k];
          actionMask[slot * horizon + k] = 1;
        }
      }
    }
    return {
      images: Object.fromEntries(
        this.cameras.map((c) => [
          c,
          { data: img[c], shape: [size, history, s, s, 3] as [number, number, number, number, number] },
        ]),
      ),
      state: { data: state, shape: [size, history, sd] },
      gripperState,
      historyMask,
      actions: { data: actions, shape: [size, history, horizon, 4] },
      actionMask,
      tasks: new Array<string>(size).fill(TASK),
    };
  }
}
