#!/usr/bin/env node
/** `anchor-refine`: collect, train, eval, ablate, report, demo. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { selectBackend } from '@anchor-refine/core-tensors';
import { SCHEDULES } from '@anchor-refine/deploy/sim-eval';
import { importOfficialXvla, savePolicy, xvlaPolicyConfig } from '@anchor-refine/policy';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ablate, formatAblation } from './ablate.js';
import { collect, parseTasks } from './collect.js';
import { loadTrainConfig, type PhaseName, validateTrainConfig } from './config.js';
import { demo } from './demo.js';
import { evalClosedLoop, formatTable, jsonSummary } from './eval-closed-loop.js';
import { evalOffline } from './eval-offline.js';
import { evalShard, mergeShards, resolveShard } from './eval-shard.js';
import { asRank, launchLocal, withoutNproc } from './launch.js';
import { pretrainVision } from './pretrain-vision.js';
import { writeReport } from './report.js';
import { recordRollouts } from './rollouts.js';
import { RUN_FILES } from './run-layout.js';
import { delayedEvalFromFlags } from './sim-policy.js';
import { trainPhase } from './train.js';

const backbone = (v: string) => {
  if (v !== 'gr1' && v !== 'xvla') throw new InvalidArgumentError("use 'gr1' or 'xvla'");
  return v;
};
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer ≥ 0`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

const program = new Command('anchor-refine')
  .description(
    'AnchorRefine training app: collect demos, two-phase training, evaluation, ablations, report, demo',
  )
  .showHelpAfterError();

program
  .command('collect')
  .description('record scripted-expert demos from the sim into a LeRobot v3.0 dataset')
  .requiredOption('--out <dir>', 'dataset folder (must not exist)')
  .option('--episodes <n>', 'successful episodes per task', int('--episodes'), 20)
  .option('--tasks <list>', "comma-separated task ids or 'all'", 'all')
  .option('--image-size <px>', 'rendered image size (96 for small, 32 for tiny)', int('--image-size'), 96)
  .option('--aim-noise <m>', 'expert aim error per episode (m)', num('--aim-noise'), 0.003)
  .option('--action-noise <rad>', 'expert joint jitter per step (rad)', num('--action-noise'), 0.01)
  .option(
    '--exec-noise <rad>',
    "DART: std of a slow disturbance on the executed joints; the recorded action stays the expert's",
    num('--exec-noise'),
    0,
  )
  .option(
    '--exec-noise-steps <n>',
    'disturb only the first n steps of each demo, then let the expert recover (default: all)',
    int('--exec-noise-steps'),
  )
  .option('--seed-offset <n>', 'first seed', int('--seed-offset'), 0)
  .option(
    '--lead <checkpoint>',
    "recovery demos: this policy (anchor-only) drives each episode's first 1..--lead-steps steps, then the expert takes over; only the expert's part is recorded",
  )
  .option('--lead-steps <n>', 'most steps the --lead policy drives (drawn per seed)', int('--lead-steps'), 10)
  .action(async (o) => {
    await collect({
      root: o.out,
      tasks: parseTasks(o.tasks),
      episodesPerTask: o.episodes,
      imageSize: o.imageSize,
      aimNoise: o.aimNoise,
      actionNoise: o.actionNoise,
      executionNoise: o.execNoise,
      ...(o.execNoiseSteps !== undefined ? { executionNoiseSteps: o.execNoiseSteps } : {}),
      seedOffset: o.seedOffset,
      ...(o.lead ? { lead: { checkpoint: o.lead, steps: o.leadSteps } } : {}),
      log: console.log,
    });
  });

program
  .command('train')
  .description('train one phase (anchor = phase 1, refine = phase 2) from a JSON config')
  .requiredOption('--config <file>', 'training config (JSON; see apps/train/README.md)')
  .requiredOption('--phase <phase>', 'anchor | refine', (v) => {
    if (v !== 'anchor' && v !== 'refine') throw new InvalidArgumentError("use 'anchor' or 'refine'");
    return v as PhaseName;
  })
  .option('--resume', 'continue from the newest checkpoint of this phase')
  .option(
    '--init <dir>',
    'policy folder to start from: the phase-1 policy for --phase refine (default <outDir>/anchor/final); a pretrained policy to fine-tune for --phase anchor (default: fresh weights)',
  )
  .option('--dataset <dir>', 'override the config dataset')
  .option('--out <dir>', 'override the config outDir')
  .option('--steps <n>', "override this phase's steps", int('--steps'))
  .option(
    '--backbone <name>',
    "override policy.backbone: 'gr1' (regression) or 'xvla' (flow / denoise)",
    backbone,
  )
  .option('--nproc <n>', 'data-parallel ranks on this machine (like torchrun --standalone)', int('--nproc'))
  .option('--dist-timeout <s>', 'collective timeout in seconds (multi-process)', num('--dist-timeout'), 1800)
  .option('--no-progress', 'no progress bar')
  .action(async (o) => {
    if (o.nproc > 1 && !process.env.WORLD_SIZE) {
      process.exitCode = await launchLocal(o.nproc, process.argv[1], withoutNproc(process.argv.slice(2)));
      return;
    }
    const over: Record<string, unknown> = {};
    if (o.dataset) over.dataset = o.dataset;
    if (o.out) over.outDir = o.out;
    let cfg = loadTrainConfig(o.config, over);
    if (o.backbone && o.backbone !== cfg.policy.backbone)
      cfg = validateTrainConfig({ ...cfg, policy: { ...cfg.policy, backbone: o.backbone } });
    if (o.steps !== undefined) cfg = { ...cfg, [o.phase]: { ...cfg[o.phase as PhaseName], steps: o.steps } };
    const r = await asRank({ timeoutMs: o.distTimeout * 1000 }, (dist) =>
      trainPhase(cfg, o.phase, { resume: o.resume, init: o.init, progress: o.progress, dist }),
    );
    if (process.env.RANK && process.env.RANK !== '0') return; // rank 0 reports
    console.log(
      `${r.phase}: ${r.steps} steps (from ${r.startStep}), last loss ${r.lastLoss.toFixed(5)}, ${r.stepsPerSecond.toFixed(2)} steps/s → ${r.finalDir}`,
    );
  });

program
  .command('pretrain-vision')
  .description(
    "MAE pretraining of GR-1's ViT on the dataset's own frames (every camera); writes a policy folder for 'train --phase anchor --init'",
  )
  .requiredOption('--config <file>', 'training config (JSON): the model, dataset, seed and augmentation')
  .requiredOption('--out <dir>', 'policy folder to write (the pretrained ViT, fresh heads)')
  .requiredOption('--steps <n>', 'optimizer steps', int('--steps'))
  .option('--dataset <dir>', 'override the config dataset')
  .option('--batch <n>', 'frames per step (default: the config anchor.batchSize)', int('--batch'))
  .option('--lr <x>', 'peak learning rate (default 1e-3, warmup 100, cosine)', num('--lr'))
  .option('--mask-ratio <r>', 'share of patches hidden per image (default 0.75)', num('--mask-ratio'))
  .option('--decoder-dim <n>', 'decoder width (default 64)', int('--decoder-dim'))
  .option('--decoder-depth <n>', 'decoder blocks (default 1)', int('--decoder-depth'))
  .option('--no-progress', 'no progress bar')
  .action(async (o) => {
    const cfg = loadTrainConfig(o.config, o.dataset ? { dataset: o.dataset } : {});
    await pretrainVision(cfg, {
      out: o.out,
      steps: o.steps,
      batchSize: o.batch,
      lr: o.lr,
      mae: {
        ...(o.maskRatio !== undefined ? { maskRatio: o.maskRatio } : {}),
        ...(o.decoderDim !== undefined ? { dim: o.decoderDim } : {}),
        ...(o.decoderDepth !== undefined ? { depth: o.decoderDepth } : {}),
      },
      progress: o.progress,
    });
  });

program
  .command('eval')
  .description('closed-loop evaluation in the sim (anchor-only and AnchorRefine), or --offline on a dataset')
  .option('--checkpoint <dir>', 'policy folder (e.g. <outDir>/refine/final)')
  .option(
    '--shard <i/n>',
    'run every n-th episode from i and write a part (default: JOB_COMPLETION_INDEX/JOB_COMPLETIONS)',
  )
  .option('--merge', 'combine the parts into closed-loop.json')
  .option('--parts <dir>', 'folder of the shard parts (default <run>/eval/closed-loop.parts)')
  .option('--episodes <n>', 'held-out seeds per task', int('--episodes'), 10)
  .option('--tasks <list>', "comma-separated task ids or 'all'", 'all')
  .option('--modes <list>', 'anchor,refine | anchor | refine', 'anchor,refine')
  .option('--seed-offset <n>', 'first evaluation seed', int('--seed-offset'), 1_000_000)
  .option(
    '--actions-per-chunk <n>',
    "actions executed per chunk (default: the checkpoint's execution config)",
    int('--actions-per-chunk'),
  )
  .option(
    '--schedule <name>',
    `run each episode as the deployment runtime would: ${SCHEDULES.join(' | ')} (with --inject-delay)`,
  )
  .option(
    '--inject-delay <ms>',
    'inference delay on the virtual clock: a chunk asked at step t arrives at t + ⌈ms / 100⌉ (needs --schedule)',
    num('--inject-delay'),
  )
  .option(
    '--threshold <f>',
    'async-blend: ask when this fraction of a chunk is queued; rtc: so that this fraction is left when it arrives (default 0.5)',
    num('--threshold'),
  )
  .option('--workers <n>', 'worker threads', int('--workers'))
  .option('--run <dir>', 'run folder to store eval results in (for report)')
  .option('--offline', 'offline metrics on a dataset instead of the sim')
  .option('--dataset <dir>', 'dataset for --offline')
  .option('--split <split>', 'val | all (for --offline)', 'val')
  .option('--split-seed <n>', 'seed of the train/val split (as in training)', int('--split-seed'), 0)
  .option('--val-fraction <f>', 'validation fraction (as in training)', num('--val-fraction'), 0.1)
  .option('--max-frames <n>', 'frames evaluated offline', int('--max-frames'), 300)
  .option('--json', 'end with one JSON line of success rates')
  .action(async (o) => {
    if (!o.merge && !o.checkpoint)
      throw new InvalidArgumentError('eval needs --checkpoint <dir> (or --merge)');
    if (o.offline) {
      if (!o.dataset) throw new InvalidArgumentError('--offline needs --dataset <dir>');
      const r = await evalOffline({
        checkpoint: o.checkpoint,
        dataset: o.dataset,
        split: o.split,
        seed: o.splitSeed,
        valFraction: o.valFraction,
        maxFrames: o.maxFrames,
      });
      if (o.run) save(join(o.run, RUN_FILES.offline), r);
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    const partsDir = o.parts ?? (o.run ? join(o.run, 'eval', 'closed-loop.parts') : undefined);
    if (o.merge) {
      if (!partsDir) throw new InvalidArgumentError('--merge needs --run <dir> or --parts <dir>');
      const r = mergeShards(partsDir, o.run ? join(o.run, 'eval') : undefined);
      if (o.run) save(join(o.run, RUN_FILES.closedLoop), r);
      console.log(formatTable(r));
      if (o.json) console.log(JSON.stringify(jsonSummary(r)));
      return;
    }
    const modes = String(o.modes).split(',') as ('anchor' | 'refine')[];
    for (const m of modes)
      if (m !== 'anchor' && m !== 'refine') throw new InvalidArgumentError(`--modes: unknown mode '${m}'`);
    const delayed = delayedEvalFromFlags(o);
    const shard = resolveShard(o.shard);
    if (shard) {
      if (!partsDir) throw new InvalidArgumentError('--shard needs --run <dir> or --parts <dir>');
      const tasks = parseTasks(o.tasks);
      const part = await evalShard(
        {
          checkpoint: o.checkpoint,
          modes,
          tasks,
          episodes: o.episodes,
          seedOffset: o.seedOffset,
          workers: o.workers,
          ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
          ...(delayed ? { delayed } : {}),
        },
        shard,
        partsDir,
      );
      const n = modes.reduce((a, m) => a + (part.episodes[m]?.length ?? 0), 0);
      console.log(`eval --shard ${shard.index}/${shard.count}: ${n} episodes → ${partsDir}`);
      return;
    }
    const r = await evalClosedLoop({
      checkpoint: o.checkpoint,
      modes,
      tasks: parseTasks(o.tasks),
      episodes: o.episodes,
      seedOffset: o.seedOffset,
      workers: o.workers,
      ...(o.actionsPerChunk ? { actionsPerChunk: o.actionsPerChunk } : {}),
      ...(delayed ? { delayed } : {}),
      logDir: o.run ? join(o.run, 'eval') : undefined,
    });
    if (o.run) save(join(o.run, RUN_FILES.closedLoop), r);
    console.log(formatTable(r));
    if (o.json) console.log(JSON.stringify(jsonSummary(r)));
  });

program
  .command('import-xvla')
  .description(
    'make an AnchorRefine checkpoint from a released X-VLA (its denoiser + Florence-2 become the frozen anchor; the refiner starts as a copy)',
  )
  .requiredOption('--weights <file>', "the release's model.safetensors")
  .requiredOption('--tokenizer <dir>', 'folder with the Florence-2 tokenizer.json')
  .requiredOption('--out <dir>', 'checkpoint folder to write')
  .addOption(new Option('--flavor <f>', 'tensor names').choices(['upstream', 'lerobot']).default('upstream'))
  .option('--arm-dim <n>', 'arm action channels (EE6D arm 1: xyz + rot6d = 9)', int('--arm-dim'), 9)
  .option('--state-dim <n>', 'proprio channels', int('--state-dim'), 9)
  .option('--domain <n>', 'domain slot of the robot (3 = LIBERO upstream)', int('--domain'), 3)
  .action(async (o) => {
    await selectBackend('native');
    const config = xvlaPolicyConfig('paper', {
      armDim: o.armDim,
      stateDim: o.stateDim,
      overrides: { domainId: o.domain },
    });
    const { policy, report } = await importOfficialXvla({
      weights: o.weights,
      flavor: o.flavor,
      tokenizerDir: o.tokenizer,
      config,
    });
    try {
      await savePolicy(policy, o.out, { metadata: { source: o.weights } });
    } finally {
      policy.dispose();
    }
    console.log(
      `import-xvla: ${report.loaded.length} tensors loaded, ${report.ignored.length} ignored → ${o.out}`,
    );
  });

program
  .command('ablate')
  .description("run the spec's ablation variants on the same data and seeds and print the table")
  .requiredOption('--config <file>', 'training config (JSON)')
  .option('--episodes <n>', 'held-out seeds per task', int('--episodes'), 10)
  .option('--tasks <list>', "comma-separated task ids or 'all'", 'all')
  .option('--only <names>', 'comma-separated variant names (default: every variant)')
  .option('--anchor <dir>', "shared phase-1 checkpoint (e.g. a demo's anchor/final) instead of training one")
  .option('--seed-offset <n>', 'first evaluation seed per task', int('--seed-offset'), 1_000_000)
  .option('--no-progress', 'no progress bar')
  .action(async (o) => {
    const cfg = loadTrainConfig(o.config);
    const only = o.only
      ? String(o.only)
          .split(',')
          .map((x) => x.trim())
      : undefined;
    const r = await ablate(cfg, {
      episodes: o.episodes,
      tasks: parseTasks(o.tasks),
      only,
      anchor: o.anchor,
      seedOffset: o.seedOffset,
      progress: o.progress,
    });
    console.log(formatAblation(r));
  });

program
  .command('report')
  .description('write an HTML report with SVG plots from a run folder')
  .requiredOption('--run <dir>', 'run folder (outDir of training / the demo)')
  .option('--out <file>', 'output file (default <run>/report.html)')
  .action((o) => {
    console.log(`report: ${writeReport(o.run, o.out)}`);
  });

program
  .command('rollouts')
  .description(
    "re-run chosen seeds of a run's closed-loop eval in both modes and store front-camera animations for report (Fail→Success first)",
  )
  .requiredOption('--run <dir>', 'run folder with eval/closed-loop.json')
  .option('--checkpoint <dir>', 'policy folder (default: the one closed-loop.json names)')
  .option('--count <n>', 'seeds to record', int('--count'), 6)
  .option('--actions-per-chunk <n>', 'as given to eval, if it was', int('--actions-per-chunk'))
  .action(async (o) => {
    const r = await recordRollouts({ ...o, log: console.log });
    console.log(`rollouts: ${r.entries.length} seeds → ${join(o.run, RUN_FILES.rollouts)}`);
  });

program
  .command('demo')
  .description(
    'collect, train both phases (small GR-1), evaluate anchor-only vs AnchorRefine, print the table, write the report',
  )
  .option('--quick', 'the ≤ 5 min version')
  .option('--json', 'end with one JSON line of success rates')
  .option('--out <dir>', 'run folder (default runs/anchor-refine-demo or runs/anchor-refine-demo-quick)')
  .option('--backbone <name>', "'gr1' (default) or 'xvla'", backbone)
  .option('--no-progress', 'no progress bars')
  .action(async (o) => {
    await demo({ quick: o.quick, json: o.json, out: o.out, progress: o.progress, backbone: o.backbone });
  });

function save(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    console.error(`anchor-refine: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

await main();
