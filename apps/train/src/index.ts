// @anchor-refine/train — the training app's library API (the CLI `anchor-refine` is src/cli.ts).
export {
  ablate,
  ablationVariants,
  formatAblation,
  type Variant,
} from './ablate.js';
export {
  CheckpointError,
  listCheckpoints,
  saveCheckpoint,
  type TrainingState,
  verifyCheckpoint,
} from './checkpoint.js';
export { type CollectOptions, collect, parseTasks } from './collect.js';
export {
  DEFAULT_PHASE,
  DEFAULT_TRAIN,
  loadTrainConfig,
  type PhaseConfig,
  type PhaseName,
  type TrainConfig,
  TrainConfigError,
  validateTrainConfig,
} from './config.js';
export { policyStatsFromDataset, samplerConfig, toPolicyObservation } from './data.js';
export { DEMO_PLANS, type DemoOptions, type DemoPlan, type DemoResult, demo } from './demo.js';
export {
  type ClosedLoopOptions,
  type ClosedLoopResult,
  evalClosedLoop,
  formatTable,
  jsonSummary,
  transitions,
} from './eval-closed-loop.js';
export { evalOffline, type OfflineOptions, type OfflineResult } from './eval-offline.js';
export { readJsonl } from './metrics.js';
export { renderReport, writeReport } from './report.js';
export { type AblationResult, type AblationRow, RUN_FILES } from './run-layout.js';
export { createSimPolicy, type EvalMode, simPolicySpec, wrapPolicy } from './sim-policy.js';
export { EventWriter, readEvents } from './tensorboard.js';
export { type PhaseResult, type TrainOptions, trainPhase } from './train.js';
