/**
 * What the sim evaluator (`anchor-refine eval --schedule … --inject-delay …`, apps/train) needs from the
 * runtime, without the server, serial and websocket modules: the delayed schedule as a step-by-step
 * controller, the schedule names and the sim's joint limits.
 */

export { SIM_JOINT_LIMITS, SIM_MAX_DELTA_PER_STEP } from './robot/sim-robot.js';
export {
  type ChunkFn,
  type DelayedEpisodeOptions,
  type DelayedEpisodeResult,
  DelayedExecutor,
} from './runtime/delayed-episode.js';
export { isScheduleName, SCHEDULES, type ScheduleName } from './runtime/schedules/index.js';
