/**
 * One watchable rollout: anchor-only | AnchorRefine front-camera frames of the same seed composed side
 * by side into one APNG (so the two play in lockstep), each half with the gripper baked under the frame:
 * a square in the colour of the command (red closed, blue open) and a gray bar whose length is the
 * measured closure, then a strip of the whole episode's commands with a black playhead. The shorter episode holds its last
 * frame, faded, until the longer one ends; the animation loops with a pause on the last frame.
 */
import UPNG from 'upng-js';
import type { RolloutEntry } from './rollouts.js';
import { ROLLOUT_MODES } from './rollouts.js';
import type { EvalMode } from './sim-policy.js';

/** px: between the halves, the gripper row (its command square is bar × bar), gaps, the command strip */
export const LAYOUT = { gap: 4, bar: 8, barGap: 2, strip: 6 } as const;
/** x offset of the closure bar in a half: after the command square and a gap */
export const CLOSURE_X = LAYOUT.bar + LAYOUT.barGap;
/** Frames narrower than this are scaled up by an integer factor (nearest neighbour). */
const MIN_WIDTH = 96;
export const COLORS = {
  closed: [178, 24, 43],
  open: [33, 102, 172],
  barBackground: [230, 230, 230],
  closure: [60, 60, 60],
  ended: [85, 85, 85],
  playhead: [0, 0, 0],
  background: [255, 255, 255],
} as const;
/** Colours the final frame is shown for before the loop restarts (ms). */
const END_PAUSE_MS = 1500;

export interface ComposedRollout {
  png: Uint8Array;
  width: number;
  height: number;
  /** width of one half (the scaled frame) */
  half: number;
  scale: number;
  frames: number;
}

const closed = (c: number) => c >= 0.5;

/**
 * `frames[mode]`: that episode's RGB frames (size × size); `entry.modes[mode]` their gripper closure
 * and commands. Quantized to 256 colours (the camera's own pixels; the bars keep their exact colours).
 */
export function composeRollout(
  entry: RolloutEntry,
  frames: Record<EvalMode, Uint8Array[]>,
  size: number,
  fps: number,
): ComposedRollout {
  const k = Math.max(1, Math.ceil(MIN_WIDTH / size));
  const S = size * k;
  const W = 2 * S + LAYOUT.gap;
  const H = S + LAYOUT.barGap + LAYOUT.bar + LAYOUT.barGap + LAYOUT.strip;
  const T = Math.max(...ROLLOUT_MODES.map((m) => frames[m].length));
  for (const m of ROLLOUT_MODES) {
    const e = entry.modes[m];
    if (frames[m].length === 0 || frames[m].length !== e.gripper.length)
      throw new Error(
        `composeRollout: ${entry.task} seed ${entry.seed} ${m}: ${frames[m].length} frames but ${e.gripper.length} gripper values`,
      );
  }
  const out: ArrayBuffer[] = [];
  for (let t = 0; t < T; t++) {
    const px = new Uint8Array(W * H * 4);
    const put = (x: number, y: number, c: readonly number[]) => {
      const i = (y * W + x) * 4;
      px[i] = c[0];
      px[i + 1] = c[1];
      px[i + 2] = c[2];
      px[i + 3] = 255;
    };
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) put(x, y, COLORS.background);
    ROLLOUT_MODES.forEach((m, side) => {
      const x0 = side * (S + LAYOUT.gap);
      const n = frames[m].length;
      const i = Math.min(t, n - 1);
      const ended = t >= n;
      const f = frames[m][i];
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          const s = ((Math.floor(y / k) * size + Math.floor(x / k)) * 3) as number;
          const c = [f[s], f[s + 1], f[s + 2]];
          put(x0 + x, y, ended ? c.map((v) => Math.round((v + 255) / 2)) : c);
        }
      const { gripper, command } = entry.modes[m];
      const cmdAt = (j: number) => command[Math.min(j, command.length - 1)] ?? 0;
      const by = S + LAYOUT.barGap;
      const fill = CLOSURE_X + Math.round(Math.min(1, Math.max(0, gripper[i])) * (S - CLOSURE_X));
      const cmd = closed(cmdAt(i)) ? COLORS.closed : COLORS.open;
      for (let y = by; y < by + LAYOUT.bar; y++)
        for (let x = 0; x < S; x++)
          put(
            x0 + x,
            y,
            x < LAYOUT.bar
              ? cmd
              : x < CLOSURE_X
                ? COLORS.background
                : x < fill
                  ? COLORS.closure
                  : COLORS.barBackground,
          );
      const sy = by + LAYOUT.bar + LAYOUT.barGap;
      const head = Math.min(S - 1, Math.floor((t * S) / T));
      for (let x = 0; x < S; x++) {
        const step = Math.floor((x * T) / S);
        const c =
          x === head || x === head + 1
            ? COLORS.playhead
            : step >= n - 1
              ? COLORS.ended
              : closed(cmdAt(step))
                ? COLORS.closed
                : COLORS.open;
        for (let y = sy; y < sy + LAYOUT.strip; y++) put(x0 + x, y, c);
      }
    });
    out.push(px.buffer);
  }
  const delays = out.map((_, t) => (t === T - 1 ? END_PAUSE_MS : Math.round(1000 / fps)));
  const png = new Uint8Array(UPNG.encode(out, W, H, 256, delays));
  return { png, width: W, height: H, half: S, scale: k, frames: T };
}
