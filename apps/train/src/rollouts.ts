/**
 * `rollouts`: recorded episodes people can watch in the report. From a finished closed-loop evaluation
 * (`eval/closed-loop.json`, both modes on the same seeds) it picks seeds — Fail→Success first, then
 * Success→Fail, then both succeeded, then both failed, each round-robin over the tasks — re-runs exactly
 * those episodes in both modes with the same checkpoint, env options and seeds (the sim and the policy
 * are deterministic, so the re-run is the evaluated episode; each record says whether it matched), and
 * stores under `<run>/eval/rollouts/` one APNG of the front camera per episode and mode (lossless,
 * the policy's image size, 10 frames/s = the control rate) plus `index.json` with the outcome, the
 * failure class and, per frame, the measured gripper closure and the gripper command.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { selectBackend } from '@anchor-refine/core-tensors';
import { loadPolicy, loadPolicyConfig, policyShape } from '@anchor-refine/policy';
import {
  type ClosedLoopPolicy,
  Env,
  type EpisodeRecord,
  type FailureClass,
  type FrameSink,
  runEpisode,
  type TaskId,
} from '@anchor-refine/sim';
import UPNG from 'upng-js';
import type { ClosedLoopResult } from './eval-closed-loop.js';
import { RUN_FILES } from './run-layout.js';
import { type EvalMode, wrapPolicy } from './sim-policy.js';

/** anchor-only → AnchorRefine outcome on one seed. */
export type Transition = 'F→S' | 'S→F' | 'S→S' | 'F→F';
/** The order picks are made in: the corrections first, then the regressions, then the rest. */
export const TRANSITION_ORDER: readonly Transition[] = ['F→S', 'S→F', 'S→S', 'F→F'];
export const ROLLOUT_MODES: readonly EvalMode[] = ['anchor', 'refine'];
/** Frames per second of the stored animations: the sim's control rate (10 Hz), i.e. real time. */
export const ROLLOUT_FPS = 10;

export interface RolloutOutcome {
  success: boolean;
  steps: number;
  failure: FailureClass | null;
}

export interface RolloutPick {
  task: TaskId;
  seed: number;
  transition: Transition;
  /** the outcomes `eval` recorded for this seed */
  evaluated: Record<EvalMode, RolloutOutcome>;
}

export interface RolloutEpisode extends RolloutOutcome {
  /** APNG of the front camera, relative to the rollouts folder; frame t = the observation at step t */
  file: string;
  frames: number;
  /** measured gripper closure per frame (jointState[5]: 0 open … 1 closed) */
  gripper: number[];
  /** gripper command of the action taken after each frame (one fewer than frames) */
  command: number[];
  /** the re-run reproduced the evaluated outcome (success, steps and failure class) */
  matchesEval: boolean;
}

export interface RolloutEntry extends RolloutPick {
  modes: Record<EvalMode, RolloutEpisode>;
}

/** `<run>/eval/rollouts/index.json` */
export interface RolloutIndex {
  checkpoint: string;
  actionsPerChunk?: number;
  imageSize: number;
  fps: number;
  entries: RolloutEntry[];
}

const outcome = (r: EpisodeRecord): RolloutOutcome => ({
  success: r.success,
  steps: r.steps,
  failure: r.failure,
});

/**
 * Up to `count` seeds from an evaluation with both modes: grouped by transition in TRANSITION_ORDER;
 * within a group the tasks take turns (in the evaluation's task order), each task's seeds ascending.
 */
export function pickRollouts(cl: ClosedLoopResult, count: number): RolloutPick[] {
  const a = cl.results.anchor;
  const r = cl.results.refine;
  if (!a || !r)
    throw new Error(
      'rollouts: closed-loop.json must hold both modes (anchor and refine); re-run eval with --modes anchor,refine',
    );
  const refined = new Map(r.episodes.map((e) => [`${e.task}:${e.seed}`, e]));
  const tasks = a.tasks.map((t) => t.task);
  const groups = new Map<Transition, Map<TaskId, RolloutPick[]>>(
    TRANSITION_ORDER.map((t) => [t, new Map(tasks.map((task) => [task, []]))]),
  );
  const anchorEpisodes = [...a.episodes].sort((x, y) => x.seed - y.seed);
  for (const e of anchorEpisodes) {
    const f = refined.get(`${e.task}:${e.seed}`);
    if (!f) continue;
    const transition = `${e.success ? 'S' : 'F'}→${f.success ? 'S' : 'F'}` as Transition;
    const perTask = groups.get(transition) as Map<TaskId, RolloutPick[]>;
    if (!perTask.has(e.task)) perTask.set(e.task, []);
    perTask.get(e.task)?.push({
      task: e.task,
      seed: e.seed,
      transition,
      evaluated: { anchor: outcome(e), refine: outcome(f) },
    });
  }
  const out: RolloutPick[] = [];
  for (const t of TRANSITION_ORDER) {
    const queues = [...(groups.get(t) as Map<TaskId, RolloutPick[]>).values()];
    for (let i = 0; out.length < count && queues.some((q) => i < q.length); i++)
      for (const q of queues) if (i < q.length && out.length < count) out.push(q[i]);
  }
  return out;
}

/** upng-js's encode takes a 6th argument its type definitions leave out: never use a palette. */
type EncodeWithForbidPlte = (
  imgs: ArrayBuffer[],
  w: number,
  h: number,
  cnum: number,
  dels: number[],
  forbidPlte: boolean,
) => ArrayBuffer;

/** Lossless APNG of RGB frames (w × h each), `1000 / fps` ms per frame. */
export function encodeFrames(frames: Uint8Array[], w: number, h: number, fps = ROLLOUT_FPS): Uint8Array {
  const rgba = frames.map((f) => {
    if (f.length !== w * h * 3)
      throw new Error(`encodeFrames: a frame has ${f.length} bytes, not ${w}×${h}×3`);
    const o = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      o[i * 4] = f[i * 3];
      o[i * 4 + 1] = f[i * 3 + 1];
      o[i * 4 + 2] = f[i * 3 + 2];
      o[i * 4 + 3] = 255;
    }
    return o.buffer;
  });
  // truecolour always (forbidPlte): upng-js sizes its output buffer from the raw frames, which a palette
  // PNG of a tiny image can overrun; the decode check below catches any truncated file
  const png = (UPNG.encode as EncodeWithForbidPlte)(
    rgba,
    w,
    h,
    0,
    frames.map(() => Math.round(1000 / fps)),
    true,
  );
  const n = UPNG.decode(png).frames.length;
  if (n !== (frames.length > 1 ? frames.length : 0))
    throw new Error(`encodeFrames: the APNG of ${frames.length} frames of ${w}×${h} decodes to ${n} frames`);
  return new Uint8Array(png);
}

/** The frames of a PNG / APNG as RGB arrays, with the size. */
export function decodeFrames(png: Uint8Array): { width: number; height: number; frames: Uint8Array[] } {
  const img = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer);
  const frames = UPNG.toRGBA8(img).map((buf) => {
    const px = new Uint8Array(buf);
    const o = new Uint8Array(img.width * img.height * 3);
    for (let i = 0; i < img.width * img.height; i++) {
      o[i * 3] = px[i * 4];
      o[i * 3 + 1] = px[i * 4 + 1];
      o[i * 3 + 2] = px[i * 4 + 2];
    }
    return o;
  });
  return { width: img.width, height: img.height, frames };
}

const same = (x: RolloutOutcome, y: RolloutOutcome) =>
  x.success === y.success && x.steps === y.steps && x.failure === y.failure;

export interface RecordRolloutsOptions {
  run: string;
  /** default: the checkpoint closed-loop.json names */
  checkpoint?: string;
  /** seeds to record (default 6) */
  count?: number;
  /** as given to the evaluation (`eval --actions-per-chunk`), if it was */
  actionsPerChunk?: number;
  log?: (line: string) => void;
}

/**
 * Picks seeds from `<run>/eval/closed-loop.json`, re-runs them in both modes in this process (one
 * episode at a time) and writes the APNGs and `index.json` under `<run>/eval/rollouts/`.
 */
export async function recordRollouts(o: RecordRolloutsOptions): Promise<RolloutIndex> {
  const clPath = join(o.run, RUN_FILES.closedLoop);
  if (!existsSync(clPath))
    throw new Error(`rollouts: ${clPath} is missing; run 'eval --run ${o.run}' (or the demo) first`);
  const cl = JSON.parse(readFileSync(clPath, 'utf8')) as ClosedLoopResult;
  const count = o.count ?? 6;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`rollouts: count must be an integer ≥ 1, got ${count}`);
  const checkpoint = o.checkpoint ?? cl.checkpoint;
  if (!existsSync(join(checkpoint, 'config.json')))
    throw new Error(
      `rollouts: checkpoint ${checkpoint} (from ${o.checkpoint ? '--checkpoint' : clPath}) has no config.json; pass --checkpoint <dir>`,
    );
  const picks = pickRollouts(cl, count);
  const size = policyShape(await loadPolicyConfig(checkpoint)).imageSize;
  const dir = join(o.run, dirname(RUN_FILES.rollouts));
  mkdirSync(dir, { recursive: true });
  await selectBackend('native');
  const policy = await loadPolicy(
    checkpoint,
    o.actionsPerChunk ? { execution: { actionsPerChunk: o.actionsPerChunk } } : {},
  );
  const envs = new Map<TaskId, Env>();
  const entries: RolloutEntry[] = [];
  try {
    for (const pick of picks) {
      let env = envs.get(pick.task);
      if (!env) {
        // the options evalClosedLoop gives the evaluator (everything else at its defaults)
        env = await Env.create(pick.task, { imageWidth: size, imageHeight: size });
        envs.set(pick.task, env);
      }
      const modes = {} as Record<EvalMode, RolloutEpisode>;
      for (const mode of ROLLOUT_MODES) {
        const ep = await recordEpisode(env, wrapPolicy(policy, mode), pick.seed);
        const file = `${pick.task}-${pick.seed}-${mode}.png`;
        writeFileSync(join(dir, file), encodeFrames(ep.frames, size, size));
        const got = outcome(ep.record);
        modes[mode] = {
          ...got,
          file,
          frames: ep.frames.length,
          gripper: ep.gripper,
          command: ep.command,
          matchesEval: same(got, pick.evaluated[mode]),
        };
        if (!modes[mode].matchesEval)
          o.log?.(
            `rollouts: ${pick.task} seed ${pick.seed} ${mode}: the re-run (${got.success ? 'success' : got.failure}, ${got.steps} steps) differs from the evaluation`,
          );
      }
      entries.push({ ...pick, modes });
      o.log?.(`rollouts: ${pick.task} seed ${pick.seed} (${pick.transition}) recorded`);
    }
  } finally {
    for (const env of envs.values()) env.close();
    policy.dispose();
  }
  const index: RolloutIndex = {
    checkpoint,
    ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
    imageSize: size,
    fps: ROLLOUT_FPS,
    entries,
  };
  writeFileSync(join(o.run, RUN_FILES.rollouts), `${JSON.stringify(index, null, 1)}\n`);
  return index;
}

/** One episode through the evaluator's own runEpisode, keeping the front frames and the gripper. */
async function recordEpisode(
  env: Env,
  policy: ClosedLoopPolicy,
  seed: number,
): Promise<{ record: EpisodeRecord; frames: Uint8Array[]; gripper: number[]; command: number[] }> {
  const frames: Uint8Array[] = [];
  const gripper: number[] = [];
  const command: number[] = [];
  const sink: FrameSink = (_step, front, _wrist, obs) => {
    frames.push(front.data.slice());
    gripper.push(obs.jointState[5]);
    return undefined;
  };
  const recording: ClosedLoopPolicy = {
    reset: () => policy.reset(),
    act: async (obs) => {
      const action = await policy.act(obs);
      command.push(action[action.length - 1]);
      return action;
    },
  };
  const record = await runEpisode(env, recording, seed, sink);
  return { record, frames, gripper, command };
}

/** The run's rollouts, or undefined when none were recorded. */
export function readRollouts(run: string): RolloutIndex | undefined {
  const p = join(run, RUN_FILES.rollouts);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RolloutIndex) : undefined;
}
