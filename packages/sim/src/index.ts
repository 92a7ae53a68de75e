export { Env, makeEnv } from './env/env.js';
export type { EpisodeSummary } from './env/monitor.js';
export {
  DEFAULT_ENV_OPTIONS,
  type EnvOptions,
  type EnvOptionsInput,
  type RandomizeOptions,
  resolveEnvOptions,
} from './env/options.js';
export {
  ACTION_DIM,
  type ActionSpace,
  type Image,
  type Observation,
  type StepResult,
  TASK_IDS,
  type TaskId,
} from './env/types.js';
export type { EpisodeRecord, FrameSink } from './eval/episode.js';
export { runEpisode } from './eval/episode.js';
export {
  DEFAULT_EVAL_SEED_OFFSET,
  type EvaluateConfig,
  type EvaluationReport,
  evaluate,
  summarize,
  type TaskReport,
} from './eval/evaluator.js';
export { classifyFailure, FAILURE_CLASSES, type FailureClass, GRIPPER_FAILURES } from './eval/failure.js';
export { createExpertPolicy, createRandomPolicy, createZeroPolicy } from './eval/policies.js';
export type {
  ClosedLoopPolicy,
  JsonValue,
  PolicyContext,
  PolicyFactory,
  PolicyFactorySpec,
} from './eval/policy.js';
export { exactMcNemar, wilsonInterval } from './eval/stats.js';
export {
  ExpertController,
  type ExpertOptions,
  type ExpertResult,
  runExpert,
  takeOverWithExpert,
} from './expert/run.js';
export { liveHandles } from './mujoco/adapter.js';
export {
  type RecordConfig,
  type RecordLead,
  type RecordSummary,
  recordExpertDataset,
  simFeatures,
} from './record/recorder.js';
export { STATE_NAMES } from './scene/arm.js';
export { allTasks, getTask } from './tasks/registry.js';
export type { TaskDefinition, TaskInstance, TaskStatus, Waypoint } from './tasks/types.js';
