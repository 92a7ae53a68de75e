#!/usr/bin/env node
/**
 * anchor-refine-deploy: `serve` (policy server), `run --robot so101|sim` (control loop), `calibrate`.
 * From sources: node --conditions=@anchor-refine/source --import tsx apps/deploy/src/cli.ts serve --init tiny
 */

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { BackboneType } from '@anchor-refine/policy';
import { TASK_IDS, type TaskId } from '@anchor-refine/sim';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PolicyClient } from './policy/policy-client.js';
import type { InitPreset, PolicySource } from './policy/protocol.js';
import { FfmpegCamera } from './robot/camera.js';
import { FeetechBus } from './robot/feetech/bus.js';
import { SimulatedServoBus } from './robot/feetech/sim-bus.js';
import { openSerialTransport } from './robot/feetech/transport.js';
import type { Robot } from './robot/robot.js';
import { SimRobot } from './robot/sim-robot.js';
import { calibrateSo101 } from './robot/so101/calibrate.js';
import {
  calibrationPath,
  type JointUnits,
  loadCalibration,
  saveCalibration,
} from './robot/so101/calibration.js';
import { So101Follower } from './robot/so101/so101.js';
import { ControlLoop } from './runtime/control-loop.js';
import type { ServerConfig } from './server/config.js';
import { startServer } from './server/server.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

function policySource(
  o: { checkpoint?: string; init?: InitPreset; backbone?: BackboneType; seed: number },
  dims?: { stateDim: number; armDim: number },
): PolicySource {
  if (o.checkpoint && o.init) throw new Error('give either --checkpoint DIR or --init tiny|small, not both');
  if (o.checkpoint && o.backbone)
    throw new Error('--backbone applies to --init only (a checkpoint names its own backbone)');
  if (o.checkpoint) return { kind: 'checkpoint', dir: o.checkpoint };
  if (o.init)
    return { kind: 'init', preset: o.init, seed: o.seed, backbone: o.backbone ?? 'gr1', ...(dims ?? {}) };
  throw new Error(
    'give --checkpoint DIR (a saved policy) or --init tiny|small (random weights, for protocol checks)',
  );
}

const program = new Command('anchor-refine-deploy').description(
  'AnchorRefine policy server and robot runtime',
);

program
  .command('serve')
  .description('serve a policy: openpi websocket + X-VLA POST /act + GET /healthz on one port')
  .option('--checkpoint <dir>', 'policy checkpoint folder (config.json, model.safetensors, stats.json)')
  .addOption(new Option('--init <preset>', 'random-init policy of this preset').choices(['tiny', 'small']))
  .addOption(new Option('--backbone <name>', 'backbone of --init (default gr1)').choices(['gr1', 'xvla']))
  .option('--seed <n>', 'seed for --init', int('--seed'), 0)
  .option('--host <host>', 'bind address', '0.0.0.0')
  .option('--port <n>', 'port', int('--port'), 8000)
  .option('--config <file>', 'JSON server config (key maps: {"openpi": {...}, "xvla": {...}}, limits)')
  .option('--threads <n>', 'model threads (default: all cores)', int('--threads'))
  .option('--close-on-error', 'close the websocket after an error, like openpi (default: keep serving)')
  .action(async (o) => {
    const extra = o.config ? (JSON.parse(await readFile(o.config, 'utf8')) as Partial<ServerConfig>) : {};
    const policy = await PolicyClient.start({
      source: policySource(o),
      ...(o.threads ? { threads: o.threads } : {}),
    });
    const server = await startServer(policy, {
      ...extra,
      host: o.host,
      port: o.port,
      ...(o.closeOnError ? { closeOnError: true } : {}),
    });
    const i = policy.info;
    console.log(
      `serving ${i.source} (cameras ${i.cameras.join(', ')}, ${i.imageSize}px, state ${i.stateDim}, ` +
        `actions [${i.horizon}, ${i.armDim + 1}]) on ${o.host}:${server.port}: ws://…/ (openpi), POST /act (X-VLA), GET /healthz`,
    );
    const shutdown = async () => {
      await server.close();
      await policy.close();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

async function so101Robot(o: {
  port: string;
  robotId: string;
  calibration?: string;
  units: JointUnits;
  camera: string[];
  imageSize: number;
}): Promise<So101Follower> {
  const cal = await loadCalibration(o.calibration ?? calibrationPath(o.robotId));
  const transport = o.port === 'sim' ? new SimulatedServoBus() : await openSerialTransport(o.port);
  const cameras = o.camera.map((spec) => {
    const [name, device] = spec.split('=');
    if (!name || !device) throw new Error(`--camera must be NAME=/dev/videoN, got '${spec}'`);
    return new FfmpegCamera({ name, device, outputSize: o.imageSize });
  });
  const robot = new So101Follower(new FeetechBus(transport), { calibration: cal, units: o.units, cameras });
  await robot.connect();
  return robot;
}

program
  .command('run')
  .description('run the control loop on a robot')
  .addOption(new Option('--robot <kind>', 'robot').choices(['so101', 'sim']).makeOptionMandatory())
  .option('--checkpoint <dir>', 'policy checkpoint folder')
  .addOption(
    new Option('--init <preset>', 'random-init policy (dims follow the robot)').choices(['tiny', 'small']),
  )
  .addOption(new Option('--backbone <name>', 'backbone of --init (default gr1)').choices(['gr1', 'xvla']))
  .option('--seed <n>', 'seed (policy init and sim episodes)', int('--seed'), 0)
  .option('--rate <hz>', 'control rate', num('--rate'), 10)
  .option('--steps <n>', 'stop after N steps (default: until Ctrl-C)', int('--steps'))
  .option(
    '--actions-per-chunk <n>',
    'actions executed per chunk (default: the policy config)',
    int('--actions-per-chunk'),
  )
  .option('--ensemble <k>', 'temporal ensembling weight k (default: the policy config)', num('--ensemble'))
  .option('--prefetch <n>', 'request the next chunk N steps before the plan ends', int('--prefetch'), 1)
  .option(
    '--max-delta <x>',
    'max joint change per step (default: 0.25 rad sim, 10 degrees so101)',
    num('--max-delta'),
  )
  .option('--task <text>', 'instruction (sim: the task text by default)')
  .addOption(new Option('--sim-task <id>', 'sim task').choices([...TASK_IDS]).default('pick_cube'))
  .option('--port <path>', 'so101: serial port (or "sim" for a simulated bus)', '/dev/ttyACM0')
  .option('--robot-id <id>', 'so101: calibration id', 'my_follower')
  .option('--calibration <file>', 'so101: calibration JSON (default: the LeRobot cache path)')
  .addOption(
    new Option('--units <u>', 'so101: body joint units')
      .choices(['degrees', 'range_m100_100'])
      .default('degrees'),
  )
  .option('--camera <name=device...>', 'so101: V4L2 camera, e.g. front=/dev/video0 (repeat)', [])
  .action(async (o) => {
    const dims = { stateDim: 5, armDim: 5 };
    const policy = await PolicyClient.start({ source: policySource(o, dims) });
    let robot: Robot | null = null;
    try {
      const isSim = o.robot === 'sim';
      robot = isSim
        ? await SimRobot.create({ task: o.simTask as TaskId, seed: o.seed, imageSize: policy.info.imageSize })
        : await so101Robot({ ...o, imageSize: policy.info.imageSize });
      const task = o.task ?? (robot instanceof SimRobot ? robot.task : '');
      const loop = new ControlLoop(robot, policy, {
        rateHz: o.rate,
        prefetch: o.prefetch,
        maxDeltaPerStep: o.maxDelta ?? (isSim ? 0.25 : 10),
        task,
        ...(o.steps ? { maxSteps: o.steps } : {}),
        ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
        ...(o.ensemble !== undefined ? { temporalEnsemble: o.ensemble } : {}),
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
  });

program
  .command('calibrate')
  .description('calibrate an SO-101 follower (LeRobot procedure and file format)')
  .option('--port <path>', 'serial port', '/dev/ttyACM0')
  .option('--robot-id <id>', 'calibration id', 'my_follower')
  .option('--robot-name <name>', 'calibration folder name (LeRobot HEAD: so_follower)', 'so_follower')
  .action(async (o) => {
    const bus = new FeetechBus(await openSerialTransport(o.port));
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const cal = await calibrateSo101(bus, {
        waitForUser: (msg) => new Promise((resolve) => rl.question(`${msg} `, () => resolve())),
        log: (l) => console.log(l),
      });
      const path = calibrationPath(o.robotId, o.robotName);
      await saveCalibration(path, cal);
      console.log(`saved ${path}`);
    } finally {
      rl.close();
      await bus.close();
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
