/** `anchor-refine-deploy run`: the control loop on an SO-101 follower or the sim robot. */
import { TASK_IDS, type TaskId } from '@anchor-refine/sim';
import { PolicyClient } from '../policy/policy-client.js';
import type { PolicySource } from '../policy/protocol.js';
import { FfmpegCamera } from '../robot/camera.js';
import { FeetechBus } from '../robot/feetech/bus.js';
import { SimulatedServoBus } from '../robot/feetech/sim-bus.js';
import { openSerialTransport } from '../robot/feetech/transport.js';
import type { Robot } from '../robot/robot.js';
import { SIM_MAX_DELTA_PER_STEP, SimRobot } from '../robot/sim-robot.js';
import { calibrationPath, type JointUnits, loadCalibration } from '../robot/so101/calibration.js';
import { So101Follower } from '../robot/so101/so101.js';
import { ControlLoop } from '../runtime/control-loop.js';
import type { ScheduleName } from '../runtime/schedules/index.js';

export interface RunOptions {
  robot: 'so101' | 'sim';
  seed: number;
  rate: number;
  steps?: number;
  actionsPerChunk?: number;
  ensemble?: number;
  prefetch: number;
  schedule?: ScheduleName;
  threshold?: number;
  maxGuidanceWeight?: number;
  injectDelay?: number;
  maxDelta?: number;
  task?: string;
  simTask: string;
  port: string;
  robotId: string;
  calibration?: string;
  units: JointUnits;
  camera: string[];
}

async function so101Robot(o: RunOptions, imageSize: number): Promise<So101Follower> {
  const cal = await loadCalibration(o.calibration ?? calibrationPath(o.robotId));
  const transport = o.port === 'sim' ? new SimulatedServoBus() : await openSerialTransport(o.port);
  const cameras = o.camera.map((spec) => {
    const [name, device] = spec.split('=');
    if (!name || !device) throw new Error(`--camera must be NAME=/dev/videoN, got '${spec}'`);
    return new FfmpegCamera({ name, device, outputSize: imageSize });
  });
  const robot = new So101Follower(new FeetechBus(transport), { calibration: cal, units: o.units, cameras });
  await robot.connect();
  return robot;
}

export async function runRobot(o: RunOptions, source: PolicySource): Promise<void> {
  const isSim = o.robot === 'sim';
  if (isSim && !(TASK_IDS as readonly string[]).includes(o.simTask))
    throw new Error(`--sim-task must be one of ${TASK_IDS.join(', ')}, got '${o.simTask}'`);
  const policy = await PolicyClient.start({ source });
  let robot: Robot | null = null;
  try {
    robot = isSim
      ? await SimRobot.create({ task: o.simTask as TaskId, seed: o.seed, imageSize: policy.info.imageSize })
      : await so101Robot(o, policy.info.imageSize);
    const task = o.task ?? (robot instanceof SimRobot ? robot.task : '');
    const loop = new ControlLoop(robot, policy, {
      rateHz: o.rate,
      prefetch: o.prefetch,
      maxDeltaPerStep: o.maxDelta ?? (isSim ? SIM_MAX_DELTA_PER_STEP : 10),
      task,
      ...(o.steps ? { maxSteps: o.steps } : {}),
      ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
      ...(o.ensemble !== undefined ? { temporalEnsemble: o.ensemble } : {}),
      ...(o.schedule ? { schedule: o.schedule } : {}),
      ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
      ...(o.maxGuidanceWeight !== undefined ? { maxGuidanceWeight: o.maxGuidanceWeight } : {}),
      ...(o.injectDelay ? { injectDelayMs: o.injectDelay } : {}),
    });
    process.once('SIGINT', () => loop.stop());
    const stats = await loop.run();
    console.log(JSON.stringify(stats, null, 2));
    if (robot instanceof SimRobot)
      console.log(`sim episodes finished: ${robot.episodes}, successes: ${robot.successes}`);
  } finally {
    await robot?.close().catch(() => undefined);
    await policy.close();
  }
}
