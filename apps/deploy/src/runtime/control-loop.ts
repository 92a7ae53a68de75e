/**
 * The robot control loop: read state and cameras, keep the policy busy in its worker (one request in
 * flight), execute one action per period from the chunk schedule (`--schedule queue | ensemble |
 * async-blend | rtc`), and filter every command through the safety limits. The delay the schedules plan
 * for is measured online: the p95 of request → result latencies, in steps (`DelayPlanner`).
 *
 * Watchdog: when no action covers the current step (the model is late, stalled or failed to answer
 * within the period), the loop holds the present position instead of repeating or extrapolating.
 * Torque goes off when the loop ends, on `stop()`, and on any error.
 */

import { resizeBilinear } from '@anchor-refine/datasets';
import type { ChunkGuide, ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';
import type { PolicyInfo } from '../policy/protocol.js';
import type { Robot } from '../robot/robot.js';
import { applySafety } from './safety.js';
import { type ActionSchedule, EnsembleSchedule, QueueSchedule } from './schedule.js';
import {
  DelayPlanner,
  isScheduleName,
  makeSchedule,
  SCHEDULES,
  type ScheduleName,
} from './schedules/index.js';

export interface ChunkSource {
  readonly info: PolicyInfo;
  /** `guide`: real-time chunking's still-executing plan (`rtc` schedule) */
  infer(
    observations: PolicyObservation[],
    guide?: ChunkGuide,
  ): Promise<{ chunk: ChunkPrediction; inferMs: number }>;
}

export interface ControlLoopConfig {
  /** control rate (Hz) */
  rateHz: number;
  /** actions executed per chunk (queue mode); default: the policy's execution config */
  actionsPerChunk?: number;
  /** ACT ensembling weight k; null = chunk queue; default: the policy's execution config */
  temporalEnsemble?: number | null;
  /** queue mode: request the next chunk this many steps before the plan runs out */
  prefetch: number;
  /** the schedule; default: the policy's execution config (queue, or ensemble when it names k) */
  schedule?: ScheduleName;
  /** async-blend / rtc: request the next chunk when this fraction of a chunk is left (default 0.5) */
  threshold?: number;
  /** rtc: β, the guidance weight cap of flow policies */
  maxGuidanceWeight?: number;
  /** added to every inference (ms): an injected delay, to test a schedule against a slow model */
  injectDelayMs?: number;
  /** largest joint change per step (policy units); Infinity disables */
  maxDeltaPerStep: number;
  /** stop after this many steps (default: until stop()) */
  maxSteps?: number;
  /** instruction given to the policy */
  task: string;
  /** called after every step (progress display, tests) */
  onStep?: (s: StepReport) => void;
}

export interface StepReport {
  step: number;
  held: boolean;
  clamped: boolean;
  lateMs: number;
}

export interface LoopStats {
  steps: number;
  durationS: number;
  achievedHz: number;
  /** steps that started later than their deadline */
  missedDeadlines: number;
  /** steps where the watchdog held position */
  watchdogHolds: number;
  /** commands changed by the safety filter */
  clamped: number;
  inferences: number;
  meanInferMs: number;
  maxLateMs: number;
  /** the schedule that ran */
  schedule: ScheduleName;
  /** p95 of request → result latency (ms) and the delay it planned for at the end (steps) */
  latencyP95Ms: number;
  plannedDelaySteps: number;
}

export function validateLoopConfig(c: ControlLoopConfig): void {
  if (!(c.rateHz > 0 && c.rateHz <= 1000))
    throw new Error(`run config: rateHz must be in (0, 1000], got ${c.rateHz}`);
  if (!Number.isInteger(c.prefetch) || c.prefetch < 0)
    throw new Error(`run config: prefetch must be an integer ≥ 0, got ${c.prefetch}`);
  if (!(c.maxDeltaPerStep > 0))
    throw new Error(`run config: maxDeltaPerStep must be > 0, got ${c.maxDeltaPerStep}`);
  if (c.maxSteps !== undefined && (!Number.isInteger(c.maxSteps) || c.maxSteps < 1))
    throw new Error(`run config: maxSteps must be a positive integer, got ${c.maxSteps}`);
  if (c.actionsPerChunk !== undefined && (!Number.isInteger(c.actionsPerChunk) || c.actionsPerChunk < 1))
    throw new Error(`run config: actionsPerChunk must be a positive integer, got ${c.actionsPerChunk}`);
  if (c.schedule !== undefined && !isScheduleName(c.schedule))
    throw new Error(`run config: schedule must be one of ${SCHEDULES.join(', ')}, got '${c.schedule}'`);
  if (c.threshold !== undefined && !(c.threshold > 0 && c.threshold < 1))
    throw new Error(`run config: threshold must be in (0, 1), got ${c.threshold}`);
  if (c.injectDelayMs !== undefined && !(c.injectDelayMs >= 0 && Number.isFinite(c.injectDelayMs)))
    throw new Error(`run config: injectDelayMs must be a number ≥ 0, got ${c.injectDelayMs}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ControlLoop {
  private stopping = false;
  private readonly schedule: ActionSchedule;
  private readonly scheduleName: ScheduleName;
  private readonly planner: DelayPlanner;
  private readonly history: PolicyObservation[] = [];

  constructor(
    readonly robot: Robot,
    readonly source: ChunkSource,
    readonly config: ControlLoopConfig,
  ) {
    validateLoopConfig(config);
    const info = source.info;
    if (info.armDim !== robot.armDim)
      throw new Error(
        `run: the policy outputs ${info.armDim} arm joints but robot '${robot.name}' has ${robot.armDim}`,
      );
    if (info.stateDim > robot.armDim)
      throw new Error(
        `run: the policy needs state dim ${info.stateDim}; robot '${robot.name}' has ${robot.armDim} joints`,
      );
    if (robot.cameras.length < info.cameras.length)
      throw new Error(
        `run: the policy needs ${info.cameras.length} cameras (${info.cameras.join(', ')}); robot has ${robot.cameras.length}`,
      );
    const k = config.temporalEnsemble === undefined ? info.temporalEnsemble : config.temporalEnsemble;
    const apc = Math.min(config.actionsPerChunk ?? info.actionsPerChunk, info.horizon);
    this.planner = new DelayPlanner(1000 / config.rateHz);
    this.scheduleName = config.schedule ?? (k === null ? 'queue' : 'ensemble');
    this.schedule =
      config.schedule === undefined
        ? k === null
          ? new QueueSchedule(apc, config.prefetch)
          : new EnsembleSchedule(k)
        : makeSchedule(config.schedule, {
            horizon: info.horizon,
            actionsPerChunk: apc,
            ensembleK: k,
            planner: this.planner,
            ...(config.threshold !== undefined ? { threshold: config.threshold } : {}),
            ...(config.maxGuidanceWeight !== undefined
              ? { maxGuidanceWeight: config.maxGuidanceWeight }
              : {}),
          });
  }

  stop(): void {
    this.stopping = true;
  }

  private async observe(): Promise<{ obs: PolicyObservation; present: Float32Array; gripper: number }> {
    const info = this.source.info;
    const [state, imgs] = await Promise.all([this.robot.readState(), this.robot.readImages()]);
    const images: PolicyObservation['images'] = {};
    info.cameras.forEach((cam, i) => {
      const img = imgs[this.robot.cameras[i]];
      if (!img) throw new Error(`run: robot camera '${this.robot.cameras[i]}' gave no frame`);
      images[cam] = resizeBilinear(img, info.imageSize, info.imageSize);
    });
    const obs: PolicyObservation = {
      images,
      state: state.joints.slice(0, info.stateDim),
      gripperState: state.gripper >= 0.5 ? 1 : 0,
      task: this.config.task,
    };
    return { obs, present: state.joints, gripper: state.gripper };
  }

  /** Runs until `maxSteps` or `stop()`; torque is off when it returns or throws. */
  async run(): Promise<LoopStats> {
    const period = 1000 / this.config.rateHz;
    const stats: LoopStats = {
      steps: 0,
      durationS: 0,
      achievedHz: 0,
      missedDeadlines: 0,
      watchdogHolds: 0,
      clamped: 0,
      inferences: 0,
      meanInferMs: 0,
      maxLateMs: 0,
      schedule: this.scheduleName,
      latencyP95Ms: 0,
      plannedDelaySteps: 0,
    };
    let inferTotal = 0;
    let inFlight = false;
    let failure: Error | null = null;
    const inject = this.config.injectDelayMs ?? 0;
    const request = (t: number) => {
      inFlight = true;
      const hist = [...this.history];
      const guide = this.schedule.guideFor?.(t);
      const t0 = performance.now();
      return this.source
        .infer(hist, guide)
        .then(async (r) => {
          if (inject > 0) {
            // setTimeout can fire up to 1 ms early by performance.now(): wait out the rest, so the
            // injected delay is never shorter than asked.
            const end = performance.now() + inject;
            for (let left = inject; left > 0; left = end - performance.now()) await sleep(left);
          }
          this.planner.record(performance.now() - t0);
          this.schedule.add(t, r.chunk);
          stats.inferences++;
          inferTotal += r.inferMs;
        })
        .catch((err: Error) => {
          failure = err;
        })
        .finally(() => {
          inFlight = false;
        });
    };
    const push = (o: PolicyObservation) => {
      this.history.push(o);
      if (this.history.length > this.source.info.history) this.history.shift();
    };
    try {
      // The first chunk comes before the clock starts, so step 0 has an action.
      push((await this.observe()).obs);
      await request(0);
      const t0 = performance.now();
      let deadline = t0;
      for (
        let t = 0;
        !this.stopping && (this.config.maxSteps === undefined || t < this.config.maxSteps);
        t++
      ) {
        if (failure) throw failure;
        const late = performance.now() - deadline;
        if (late > period * 0.1) stats.missedDeadlines++;
        stats.maxLateMs = Math.max(stats.maxLateMs, late);
        const { obs, present, gripper } = await this.observe();
        if (t > 0) push(obs);
        if (!inFlight && this.schedule.wantsChunk(t)) void request(t);
        const a = this.schedule.actionAt(t);
        let held = false;
        let clamped = false;
        if (!a) {
          held = true;
          stats.watchdogHolds++;
          await this.robot.sendAction(present, gripper);
        } else {
          const s = applySafety(a.joints, a.gripper, present, {
            min: this.robot.jointLimits.min,
            max: this.robot.jointLimits.max,
            maxDeltaPerStep: this.config.maxDeltaPerStep,
          });
          clamped = s.clamped;
          if (clamped) stats.clamped++;
          await this.robot.sendAction(s.joints, s.gripper);
        }
        stats.steps++;
        this.config.onStep?.({ step: t, held, clamped, lateMs: late });
        deadline += period;
        const wait = deadline - performance.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -period) deadline = performance.now(); // far behind: re-anchor instead of bursting
      }
      stats.durationS = (performance.now() - t0) / 1000;
      stats.achievedHz = stats.steps / Math.max(stats.durationS, 1e-9);
      stats.meanInferMs = stats.inferences ? inferTotal / stats.inferences : 0;
      stats.latencyP95Ms = this.planner.p95Ms() ?? 0;
      stats.plannedDelaySteps = this.planner.steps();
      return stats;
    } finally {
      await this.robot.disableTorque().catch(() => undefined);
    }
  }
}
