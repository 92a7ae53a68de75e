/** `--schedule queue|ensemble|async-blend|rtc`: the action schedule of a name, for one policy. */
import { type ActionSchedule, EnsembleSchedule } from '../schedule.js';
import { AsyncBlendSchedule } from './async-blend.js';
import type { DelayPlanner } from './delay-planner.js';
import { RtcSchedule } from './rtc.js';
import { SyncQueueSchedule } from './sync-queue.js';

export { AsyncBlendSchedule } from './async-blend.js';
export { DelayPlanner } from './delay-planner.js';
export { RtcSchedule, type RtcScheduleOptions } from './rtc.js';
export { SyncQueueSchedule } from './sync-queue.js';

export const SCHEDULES = ['queue', 'ensemble', 'async-blend', 'rtc'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

/** ACT's temporal-ensembling weight when the policy config names none. */
export const DEFAULT_ENSEMBLE_K = 0.01;

export interface ScheduleSettings {
  horizon: number;
  /** queue: actions executed per chunk */
  actionsPerChunk: number;
  /** ensemble: k (default `DEFAULT_ENSEMBLE_K`) */
  ensembleK?: number | null;
  /** async-blend / rtc: request when this fraction of a chunk is left (default 0.5) */
  threshold?: number;
  /** rtc: the planned delay */
  planner: DelayPlanner;
  /** rtc: β for flow policies */
  maxGuidanceWeight?: number;
}

export function isScheduleName(s: string): s is ScheduleName {
  return (SCHEDULES as readonly string[]).includes(s);
}

export function makeSchedule(name: ScheduleName, s: ScheduleSettings): ActionSchedule {
  switch (name) {
    case 'queue':
      return new SyncQueueSchedule(Math.min(s.actionsPerChunk, s.horizon));
    case 'ensemble':
      return new EnsembleSchedule(s.ensembleK ?? DEFAULT_ENSEMBLE_K);
    case 'async-blend':
      return new AsyncBlendSchedule(s.horizon, s.threshold ?? 0.5);
    case 'rtc':
      return new RtcSchedule({
        delaySteps: () => s.planner.steps(),
        ...(s.threshold !== undefined ? { threshold: s.threshold } : {}),
        ...(s.maxGuidanceWeight !== undefined ? { maxGuidanceWeight: s.maxGuidanceWeight } : {}),
      });
    default:
      throw new Error(`--schedule must be one of ${SCHEDULES.join(', ')}, got '${String(name)}'`);
  }
}
