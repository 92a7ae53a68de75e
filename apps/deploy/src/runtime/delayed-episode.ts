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

/**
 * The delayed schedule as a step-by-step controller: `act(obs)` is the env action for the observation of
 * the next control step (virtual clock: one call = one period). `runDelayedEpisode` drives it over an
 * env; the sim evaluator (`eval --schedule … --inject-delay …`) wraps it as a closed-loop policy.
 */
export class DelayedExecutor {
  private readonly period: number;
  private readonly d: number;
  private planner!: DelayPlanner;
  private schedule!: ReturnType<typeof makeSchedule>;
  private hist: PolicyObservation[] = [];
  private pending: { readyAt: number; start: number; chunk: ChunkPrediction } | null = null;
  private t = 0;
  private grip = 0;
  private commands: Float32Array[] = [];
  private measured: Float32Array[] = [];
  private switches: number[] = [];
  private counts = { holds: 0, inferences: 0, clamped: 0 };

  constructor(
    private readonly predict: ChunkFn,
    private readonly o: DelayedEpisodeOptions,
  ) {
    if (!(o.delayMs >= 0)) throw new Error(`delayed episode: delayMs must be ≥ 0, got ${o.delayMs}`);
    this.period = 1000 / o.rateHz;
    this.d = delaySteps(o.delayMs, o.rateHz);
    this.reset();
  }

  /** A new episode: empty schedule, history and statistics. */
  reset(): void {
    this.planner = new DelayPlanner(this.period);
    this.schedule = makeSchedule(this.o.schedule, { ...this.o.settings, planner: this.planner });
    this.hist = [];
    this.pending = null;
    this.t = 0;
    this.grip = -1;
    this.commands = [];
    this.measured = [];
    this.switches = [];
    this.counts = { holds: 0, inferences: 0, clamped: 0 };
  }

  private request(t: number, ready: number): void {
    const chunk = this.predict(this.hist, this.schedule.guideFor?.(t));
    this.counts.inferences++;
    this.planner.record(this.o.delayMs);
    if (ready <= t) {
      this.schedule.add(t, chunk);
      this.switches.push(t);
    } else this.pending = { readyAt: ready, start: t, chunk };
  }

  /** The env action (arm command, then the gripper) for this step's observation. */
  act(obs: Observation): Float32Array {
    const { o } = this;
    const t = this.t++;
    this.hist.push(o.toObservation(obs));
    if (this.hist.length > o.history) this.hist.shift();
    const present = obs.jointState.slice(0, o.armDim);
    if (this.grip < 0) this.grip = obs.jointState[o.armDim] > 0.2 ? 1 : 0;
    this.measured.push(present);
    if (t === 0)
      this.request(0, 0); // ready before the clock starts, as in ControlLoop
    else {
      const p = this.pending;
      if (p && p.readyAt <= t) {
        this.schedule.add(p.start, p.chunk);
        this.switches.push(t);
        this.pending = null;
      }
      if (!this.pending && this.schedule.wantsChunk(t)) this.request(t, t + this.d);
    }
    const a = this.schedule.actionAt(t);
    let cmd: Float32Array = present;
    if (!a) this.counts.holds++;
    else {
      const s = applySafety(a.joints, a.gripper, present, o.safety);
      if (s.clamped) this.counts.clamped++;
      cmd = s.joints;
      this.grip = s.gripper;
    }
    this.commands.push(cmd);
    const action = new Float32Array(o.armDim + 1);
    action.set(cmd);
    action[o.armDim] = this.grip;
    return action;
  }

  /** The episode's statistics so far (`finalJoints`: the measured pose after the last step). */
  result(seed: number, success: boolean, steps: number, finalJoints?: Float32Array): DelayedEpisodeResult {
    const { rateHz } = this.o;
    const measured = finalJoints ? [...this.measured, finalJoints.slice(0, this.o.armDim)] : this.measured;
    return {
      seed,
      success,
      steps,
      durationS: steps / rateHz,
      ...this.counts,
      maxVelocityJump: maxVelocityJump(this.commands, rateHz),
      boundaryJump: velocityJumpAt(this.commands, rateHz, this.switches),
      jerkRms: jerkRms(measured, rateHz),
    };
  }
}

export function runDelayedEpisode(
  env: Env,
  predict: ChunkFn,
  seed: number,
  o: DelayedEpisodeOptions,
): DelayedEpisodeResult {
  const ex = new DelayedExecutor(predict, o);
  let obs = env.reset(seed);
  for (;;) {
    const r = env.step(ex.act(obs));
    obs = r.observation;
    if (r.done) return ex.result(seed, r.success, r.step, obs.jointState);
  }
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
