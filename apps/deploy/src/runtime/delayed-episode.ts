/**
 * One sim episode under an injected inference delay, on a virtual clock (reproducible, whatever the
 * machine's speed): a chunk requested at control step t (from the observation of step t) becomes
 * available at step t + ⌈delay / period⌉. Meanwhile the robot keeps executing what its schedule already
 * holds; when nothing covers a step the watchdog holds the present pose (the synchronous queue waits
 * like this after every chunk). The sim clock stands still while the model really computes, so the
 * planned delay is the injected one (the `DelayPlanner` is fed the virtual latency). As on the robot,
 * the first chunk is ready before step 0, and every command passes the same safety filter.
 *
 * Smoothness, from the commands sent: velocity v_t = (c_t − c_{t−1})·rate; `maxVelocityJump` is
 * max_t,j |v_t − v_{t−1}| (rad/s; chunk boundaries and holds show up here), `boundaryJump` the same max
 * over the steps where a newly arrived chunk took over only (the chunk-boundary discontinuity; step 0,
 * the start from rest, excluded); `jerkRms` is the RMS of the third difference of the measured joint
 * positions × rate³ (rad/s³).
 */
import type { ChunkGuide, ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';
import type { Env, Observation } from '@anchor-refine/sim';
import { applySafety, type SafetyConfig } from './safety.js';
import { DelayPlanner, makeSchedule, type ScheduleName, type ScheduleSettings } from './schedules/index.js';

export type ChunkFn = (history: readonly PolicyObservation[], guide?: ChunkGuide) => ChunkPrediction;

export interface DelayedEpisodeOptions {
  schedule: ScheduleName;
  /** injected inference delay (ms) */
  delayMs: number;
  /** control rate (Hz; the sim runs at 10) */
  rateHz: number;
  /** observation frames the policy reads */
  history: number;
  settings: Omit<ScheduleSettings, 'planner'>;
  safety: SafetyConfig;
  /** arm joints (the gripper is the next channel of the env action) */
  armDim: number;
  toObservation: (o: Observation) => PolicyObservation;
}

export interface DelayedEpisodeResult {
  seed: number;
  success: boolean;
  steps: number;
  /** steps / rate */
  durationS: number;
  /** steps the watchdog held the pose (no action covered them) */
  holds: number;
  inferences: number;
  /** commands the safety filter changed */
  clamped: number;
  maxVelocityJump: number;
  boundaryJump: number;
  jerkRms: number;
}

/** ⌈delay / period⌉ control steps (a 1e-6 tolerance for exact multiples). */
export function delaySteps(delayMs: number, rateHz: number): number {
  return Math.max(0, Math.ceil((delayMs * rateHz) / 1000 - 1e-6));
}

export function runDelayedEpisode(
  env: Env,
  predict: ChunkFn,
  seed: number,
  o: DelayedEpisodeOptions,
): DelayedEpisodeResult {
  if (!(o.delayMs >= 0)) throw new Error(`delayed episode: delayMs must be ≥ 0, got ${o.delayMs}`);
  const period = 1000 / o.rateHz;
  const planner = new DelayPlanner(period);
  const schedule = makeSchedule(o.schedule, { ...o.settings, planner });
  const d = delaySteps(o.delayMs, o.rateHz);
  const hist: PolicyObservation[] = [];
  let obs = env.reset(seed);
  let pending: { readyAt: number; start: number; chunk: ChunkPrediction } | null = null;
  let inferences = 0;
  const switches: number[] = [];
  const request = (t: number, ready: number) => {
    const chunk = predict(hist, schedule.guideFor?.(t));
    inferences++;
    planner.record(o.delayMs);
    if (ready <= t) {
      schedule.add(t, chunk);
      switches.push(t);
    } else pending = { readyAt: ready, start: t, chunk };
  };
  const commands: Float32Array[] = [];
  const measured: Float32Array[] = [];
  let holds = 0;
  let clamped = 0;
  let grip = obs.jointState[o.armDim] > 0.2 ? 1 : 0;
  let success = false;
  let steps = 0;
  for (let t = 0; ; t++) {
    hist.push(o.toObservation(obs));
    if (hist.length > o.history) hist.shift();
    const present = obs.jointState.slice(0, o.armDim);
    measured.push(present);
    if (t === 0)
      request(0, 0); // ready before the clock starts, as in ControlLoop
    else {
      const p = pending as { readyAt: number; start: number; chunk: ChunkPrediction } | null;
      if (p && p.readyAt <= t) {
        schedule.add(p.start, p.chunk);
        switches.push(t);
        pending = null;
      }
      if (!pending && schedule.wantsChunk(t)) request(t, t + d);
    }
    const a = schedule.actionAt(t);
    let cmd: Float32Array = present;
    if (!a) holds++;
    else {
      const s = applySafety(a.joints, a.gripper, present, o.safety);
      if (s.clamped) clamped++;
      cmd = s.joints;
      grip = s.gripper;
    }
    commands.push(cmd);
    const action = new Float32Array(o.armDim + 1);
    action.set(cmd);
    action[o.armDim] = grip;
    const r = env.step(action);
    obs = r.observation;
    steps = r.step;
    if (r.done) {
      success = r.success;
      measured.push(obs.jointState.slice(0, o.armDim));
      break;
    }
  }
  return {
    seed,
    success,
    steps,
    durationS: steps / o.rateHz,
    holds,
    inferences,
    clamped,
    maxVelocityJump: maxVelocityJump(commands, o.rateHz),
    boundaryJump: velocityJumpAt(commands, o.rateHz, switches),
    jerkRms: jerkRms(measured, o.rateHz),
  };
}

/** max over t, j of |v_t − v_{t−1}| with v_t = (c_t − c_{t−1})·rate. */
export function maxVelocityJump(c: readonly Float32Array[], rateHz: number): number {
  let m = 0;
  for (let t = 2; t < c.length; t++)
    for (let j = 0; j < c[t].length; j++) {
      const jump = (c[t][j] - 2 * c[t - 1][j] + c[t - 2][j]) * rateHz;
      m = Math.max(m, Math.abs(jump));
    }
  return m;
}

/** max over the given steps t ≥ 2 and joints of |v_t − v_{t−1}|. */
export function velocityJumpAt(c: readonly Float32Array[], rateHz: number, steps: readonly number[]): number {
  let m = 0;
  for (const t of steps) {
    if (t < 2 || t >= c.length) continue;
    for (let j = 0; j < c[t].length; j++)
      m = Math.max(m, Math.abs((c[t][j] - 2 * c[t - 1][j] + c[t - 2][j]) * rateHz));
  }
  return m;
}

/** RMS over t, j of the third difference × rate³. */
export function jerkRms(q: readonly Float32Array[], rateHz: number): number {
  let s = 0;
  let n = 0;
  for (let t = 3; t < q.length; t++)
    for (let j = 0; j < q[t].length; j++) {
      const third = q[t][j] - 3 * q[t - 1][j] + 3 * q[t - 2][j] - q[t - 3][j];
      s += (third * rateHz ** 3) ** 2;
      n++;
    }
  return n ? Math.sqrt(s / n) : 0;
}
