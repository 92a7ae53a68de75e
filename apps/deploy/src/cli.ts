#!/usr/bin/env node
/**
 * anchor-refine-deploy: `serve` (policy server), `run --robot so101|sim` (control loop), `calibrate`.
 * From sources: node --conditions=@anchor-refine/source --import tsx apps/deploy/src/cli.ts serve --init tiny
 */

import { readFile } from 'node:fs/promises';
import type { BackboneType } from '@anchor-refine/policy';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PolicyClient } from './policy/policy-client.js';
import type { InitPreset, PolicySource } from './policy/protocol.js';
import { exposureWarning } from './server/access.js';
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
  .option('--host <host>', 'bind address (default 127.0.0.1; 0.0.0.0 exposes the robot to the network)')
  .option('--port <n>', 'port', int('--port'), 8000)
  .option('--config <file>', 'JSON server config (key maps: {"openpi": {...}, "xvla": {...}}, limits)')
  .option('--threads <n>', 'model threads (default: all cores)', int('--threads'))
  .option('--close-on-error', 'close the websocket after an error, like openpi (default: keep serving)')
  .addOption(
    new Option(
      '--api-key <key>',
      'require "Authorization: Api-Key <key>" (openpi client api_key=) or "Bearer <key>" on websocket and /act',
    ).env('ANCHOR_REFINE_API_KEY'),
  )
  .option(
    '--allow-origin <origin...>',
    'browser origins allowed to connect, e.g. http://localhost:3000 (default: none; "*" = any)',
  )
  .action(async (o) => {
    const extra = o.config ? (JSON.parse(await readFile(o.config, 'utf8')) as Partial<ServerConfig>) : {};
    const policy = await PolicyClient.start({
      source: policySource(o),
      ...(o.threads ? { threads: o.threads } : {}),
    });
    const server = await startServer(policy, {
      ...extra,
      ...(o.host !== undefined ? { host: o.host } : {}),
      port: o.port,
      ...(o.closeOnError ? { closeOnError: true } : {}),
      ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
      ...(o.allowOrigin !== undefined ? { allowOrigins: o.allowOrigin } : {}),
    });
    const warning = exposureWarning(server.config.host, server.config.apiKey);
    if (warning) console.warn(warning);
    const i = policy.info;
    console.log(
      `serving ${i.source} (cameras ${i.cameras.join(', ')}, ${i.imageSize}px, state ${i.stateDim}, ` +
        `actions [${i.horizon}, ${i.armDim + 1}]) on ${server.config.host}:${server.port}${server.config.apiKey ? ' (API key required)' : ''}: ws://…/ (openpi), POST /act (X-VLA), GET /healthz`,
    );
    const shutdown = async () => {
      await server.close();
      await policy.close();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

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
  .addOption(
    new Option(
      '--schedule <name>',
      'action schedule: queue (synchronous: wait holding), ensemble (ACT), async-blend (LeRobot async), rtc (real-time chunking); default: the policy config, with --prefetch',
    ).choices(['queue', 'ensemble', 'async-blend', 'rtc']),
  )
  .option(
    '--threshold <x>',
    'async-blend: request the next chunk when this fraction of a chunk is queued; rtc: so that this fraction is left when it arrives (default 0.5)',
    num('--threshold'),
  )
  .option(
    '--max-guidance-weight <x>',
    'rtc: guidance weight cap β of flow policies (default 5)',
    num('--max-guidance-weight'),
  )
  .option(
    '--inject-delay <ms>',
    'add this many ms to every inference (test a schedule against a slow model)',
    num('--inject-delay'),
  )
  .option(
    '--max-delta <x>',
    'max joint change per step (default: 0.25 rad sim, 10 degrees so101)',
    num('--max-delta'),
  )
  .option('--task <text>', 'instruction (sim: the task text by default)')
  .option('--sim-task <id>', 'sim task (pick_cube, push_pen, stack_blocks, open_drawer)', 'pick_cube')
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
    // Robot and sim modules load only for this command (a server process stays small: smaller heap, shorter GCs).
    const { runRobot } = await import('./commands/run.js');
    await runRobot(o, policySource(o, { stateDim: 5, armDim: 5 }));
  });

program
  .command('calibrate')
  .description('calibrate an SO-101 follower (LeRobot procedure and file format)')
  .option('--port <path>', 'serial port', '/dev/ttyACM0')
  .option('--robot-id <id>', 'calibration id', 'my_follower')
  .option('--robot-name <name>', 'calibration folder name (LeRobot HEAD: so_follower)', 'so_follower')
  .action(async (o) => {
    const { calibrate } = await import('./commands/calibrate.js');
    await calibrate(o);
  });

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
