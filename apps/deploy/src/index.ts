// @anchor-refine/deploy — policy server (openpi websocket, X-VLA HTTP /act, /healthz) and the robot runtime.

export {
  type InferResult,
  PolicyBusyError,
  PolicyClient,
  type PolicyClientOptions,
  type PolicyHealth,
  type PolicyState,
  PolicyUnavailableError,
  type RestartOptions,
} from './policy/policy-client.js';
export type { InitPreset, PolicyInfo, PolicySource } from './policy/protocol.js';
export { parseJsonNumpy, toJsonNumpy } from './protocol/json-numpy.js';
export { packNumpy, unpackNumpy } from './protocol/msgpack-numpy.js';
export { type NdArray, ndarray, ProtocolError, toFloat32 } from './protocol/ndarray.js';
export { type CameraConfig, FfmpegCamera } from './robot/camera.js';
export { FeetechBus, type FeetechBusOptions, FeetechError } from './robot/feetech/bus.js';
export { STS, STS3215_MODEL } from './robot/feetech/control-table.js';
export { BROADCAST_ID, INSTR, instructionPacket, parsePacket } from './robot/feetech/packet.js';
export { SimulatedServoBus } from './robot/feetech/sim-bus.js';
export { type ByteTransport, openSerialTransport } from './robot/feetech/transport.js';
export type { Robot, RobotImage, RobotState } from './robot/robot.js';
export {
  SIM_JOINT_LIMITS,
  SIM_MAX_DELTA_PER_STEP,
  SimRobot,
  type SimRobotOptions,
} from './robot/sim-robot.js';
export { type CalibrateIo, calibrateSo101 } from './robot/so101/calibrate.js';
export {
  type Calibration,
  calibrationPath,
  type JointUnits,
  loadCalibration,
  type MotorCalibration,
  SO101_MOTORS,
  saveCalibration,
  ticksToUnits,
  unitsToTicks,
} from './robot/so101/calibration.js';
export { So101Follower, type So101Options } from './robot/so101/so101.js';
export {
  type ChunkSource,
  ControlLoop,
  type ControlLoopConfig,
  type LoopStats,
} from './runtime/control-loop.js';
export {
  type ChunkFn,
  type DelayedEpisodeOptions,
  type DelayedEpisodeResult,
  DelayedExecutor,
  delaySteps,
  jerkRms,
  maxVelocityJump,
  runDelayedEpisode,
  velocityJumpAt,
} from './runtime/delayed-episode.js';
export { applySafety, type SafetyConfig } from './runtime/safety.js';
export {
  type ActionSchedule,
  EnsembleSchedule,
  QueueSchedule,
  type ScheduledAction,
} from './runtime/schedule.js';
export {
  AsyncBlendSchedule,
  DEFAULT_ENSEMBLE_K,
  DelayPlanner,
  isScheduleName,
  makeSchedule,
  RtcSchedule,
  type RtcScheduleOptions,
  SCHEDULES,
  type ScheduleName,
  type ScheduleSettings,
  SyncQueueSchedule,
} from './runtime/schedules/index.js';
export { DEFAULT_SERVER_CONFIG, resolveServerConfig, type ServerConfig } from './server/config.js';
export {
  type ClientMapping,
  type GripperSpec,
  type ImageLayout,
  openpiDefaults,
  type ResolvedMapping,
  resolveMapping,
  xvlaDefaults,
} from './server/mapping.js';
export { type PolicyServer, startServer } from './server/server.js';
