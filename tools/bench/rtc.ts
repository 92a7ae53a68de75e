/**
 * Issue 17: the action schedules under an injected inference delay, closed-loop in the sim.
 *
 *   nice -n 10 node --conditions=@anchor-refine/source --import tsx tools/bench/rtc.ts \
 *     --checkpoint runs/rtc/xvla/refine/final --tasks open_drawer --episodes 10 --out runs/rtc/table
 *
 * For every checkpoint × schedule × delay (default 0, 100, 200, 300 ms at 10 Hz) it runs the same
 * held-out seeds (seed offset 2,000,000; demos use 0…) on a virtual clock (`runDelayedEpisode`: the
 * robot keeps executing during the delay; the synchronous queue holds) and writes
 * <out>/delay-eval.json (every episode), delay-eval.md (the table) and delay-eval.svg (success and
 * chunk-boundary discontinuity against delay). Everything is deterministic: the same command gives the
 * same table. `--from DIR,DIR` rebuilds one table and plot from earlier runs' delay-eval.json (e.g. the
 * schedules split over two processes, one per core, with `--schedules`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, setThreads } from '@anchor-refine/core-tensors';
import {
  type DelayedEpisodeResult,
  isScheduleName,
  runDelayedEpisode,
  SCHEDULES,
  type ScheduleName,
  SIM_JOINT_LIMITS,
  SIM_MAX_DELTA_PER_STEP,
} from '@anchor-refine/deploy';
import { loadPolicy, policyShape } from '@anchor-refine/policy';
import { makeEnv, TASK_IDS, type TaskId } from '@anchor-refine/sim';
import { toPolicyObservation } from '@anchor-refine/train';
import { lineChart, type Series } from '../../apps/train/src/svg.ts';

const { values } = parseArgs({
  options: {
    checkpoint: { type: 'string', multiple: true },
    tasks: { type: 'string', default: 'open_drawer' },
    episodes: { type: 'string', default: '10' },
    delays: { type: 'string', default: '0,100,200,300' },
    schedules: { type: 'string', default: SCHEDULES.join(',') },
    'seed-offset': { type: 'string', default: '2000000' },
    threshold: { type: 'string', default: '0.5' },
    threads: { type: 'string', default: '1' },
    out: { type: 'string', default: 'runs/rtc/table' },
    // tables of earlier runs (e.g. the schedules split over two processes, one per core) combined into one
    from: { type: 'string' },
  },
});

const fail = (m: string): never => {
  console.error(`rtc bench: ${m}`);
  process.exit(2);
};
const from = values.from?.split(',') ?? [];
const earlier = from.map((dir) => {
  const f = join(dir, 'delay-eval.json');
  if (!existsSync(f)) fail(`--from: no ${f}`);
  return JSON.parse(readFileSync(f, 'utf8')) as { command: string; seedOffset: number; cells: Cell[] };
});
const checkpoints = from.length
  ? []
  : (values.checkpoint ?? fail('give --checkpoint DIR (repeat for several policies), or --from DIR,DIR'));
const tasks = (
  from.length ? [...new Set(earlier.flatMap((e) => e.cells.map((c) => c.task)))] : values.tasks.split(',')
) as TaskId[];
for (const t of tasks)
  if (!TASK_IDS.includes(t)) fail(`--tasks: unknown task '${t}' (${TASK_IDS.join(', ')})`);
const schedules = (
  from.length
    ? SCHEDULES.filter((x) => earlier.some((e) => e.cells.some((c) => c.schedule === x)))
    : values.schedules.split(',')
) as ScheduleName[];
for (const s of schedules)
  if (!isScheduleName(s)) fail(`--schedules: unknown '${s}' (${SCHEDULES.join(', ')})`);
const delays = from.length
  ? [...new Set(earlier.flatMap((e) => e.cells.map((c) => c.delayMs)))].sort((a, b) => a - b)
  : values.delays.split(',').map(Number);
if (delays.some((d) => !(d >= 0))) fail(`--delays must be numbers ≥ 0 (ms), got '${values.delays}'`);
const episodes = Number(values.episodes);
if (earlier.some((e) => e.seedOffset !== earlier[0].seedOffset))
  fail('--from: the runs used different --seed-offset values');
const seedOffset = from.length ? earlier[0].seedOffset : Number(values['seed-offset']);
const threshold = Number(values.threshold);
const RATE = 10;

interface Cell {
  policy: string;
  schedule: ScheduleName;
  delayMs: number;
  task: TaskId;
  episodes: DelayedEpisodeResult[];
}

await selectBackend('native');
setThreads(Number(values.threads));
const cells: Cell[] = earlier.flatMap((e) => e.cells);
const t0 = performance.now();
for (const ckpt of checkpoints) {
  const policy = await loadPolicy(ckpt);
  const shape = policyShape(policy.config);
  const parts = ckpt.replace(/\/+$/, '').split('/');
  const name = `${shape.backbone}:${parts.slice(-3, parts.at(-1) === 'final' ? -1 : undefined).join('/')}`;
  for (const task of tasks) {
    const env = await makeEnv(task, {
      actionSpace: 'joint',
      imageWidth: shape.imageSize,
      imageHeight: shape.imageSize,
    });
    const safety = { ...SIM_JOINT_LIMITS, maxDeltaPerStep: SIM_MAX_DELTA_PER_STEP };
    for (const schedule of schedules)
      for (const delayMs of delays) {
        const cell: Cell = { policy: name, schedule, delayMs, task, episodes: [] };
        for (let i = 0; i < episodes; i++) {
          const r = runDelayedEpisode(env, (h, g) => policy.predictActionChunk(h, g), seedOffset + i, {
            schedule,
            delayMs,
            rateHz: RATE,
            history: shape.history,
            armDim: shape.armDim,
            toObservation: toPolicyObservation,
            safety,
            settings: {
              horizon: shape.horizon,
              actionsPerChunk: shape.actionsPerChunk,
              ensembleK: shape.temporalEnsemble,
              threshold,
            },
          });
          cell.episodes.push(r);
        }
        cells.push(cell);
        const s = summary(cell);
        console.error(
          `${name} ${task} ${schedule} ${delayMs} ms: ${s.successes}/${s.n} success, ${s.duration.toFixed(1)} s, ` +
            `holds ${s.holds.toFixed(1)}, boundary |Δv| ${s.boundary.toFixed(2)}, max |Δv| ${s.jump.toFixed(2)} rad/s (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    env.close();
  }
  policy.dispose();
}

function summary(c: Cell) {
  const n = c.episodes.length;
  const mean = (f: (r: DelayedEpisodeResult) => number) => c.episodes.reduce((a, r) => a + f(r), 0) / n;
  return {
    n,
    successes: c.episodes.filter((r) => r.success).length,
    duration: mean((r) => r.durationS),
    successDuration: (() => {
      const s = c.episodes.filter((r) => r.success);
      return s.length ? s.reduce((a, r) => a + r.durationS, 0) / s.length : Number.NaN;
    })(),
    holds: mean((r) => r.holds),
    jump: mean((r) => r.maxVelocityJump),
    boundary: mean((r) => r.boundaryJump),
    jerk: mean((r) => r.jerkRms),
  };
}

const rows = [
  '| policy | task | schedule | delay (ms) | success | mean duration (s) | duration of successes (s) | holds / episode | chunk-boundary jump (rad/s) | max joint-velocity jump (rad/s) | jerk RMS (rad/s³) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const c of cells) {
  const s = summary(c);
  rows.push(
    `| ${c.policy} | ${c.task} | ${c.schedule} | ${c.delayMs} | ${s.successes}/${s.n} (${((100 * s.successes) / s.n).toFixed(0)} %) | ${s.duration.toFixed(2)} | ${Number.isNaN(s.successDuration) ? '—' : s.successDuration.toFixed(2)} | ${s.holds.toFixed(1)} | ${s.boundary.toFixed(2)} | ${s.jump.toFixed(2)} | ${s.jerk.toFixed(1)} |`,
  );
}
// success kept at the largest delay relative to zero delay, per policy and schedule (all tasks pooled)
const dMax = Math.max(...delays);
rows.push(
  '',
  `| policy | schedule | success at 0 ms | success at ${dMax} ms | kept | holds / episode at ${dMax} ms |`,
  '| --- | --- | --- | --- | --- | --- |',
);
for (const policy of [...new Set(cells.map((c) => c.policy))])
  for (const schedule of schedules) {
    const pool = (d: number): Cell => ({
      policy,
      schedule,
      delayMs: d,
      task: tasks[0],
      episodes: cells
        .filter((c) => c.policy === policy && c.schedule === schedule && c.delayMs === d)
        .flatMap((c) => c.episodes),
    });
    const a0 = summary(pool(0));
    const a1 = summary(pool(dMax));
    rows.push(
      `| ${policy} | ${schedule} | ${a0.successes}/${a0.n} | ${a1.successes}/${a1.n} | ${a0.successes ? `${((100 * a1.successes) / a0.successes).toFixed(0)} %` : '—'} | ${a1.holds.toFixed(1)} |`,
    );
  }
const COLORS: Record<ScheduleName, string> = {
  queue: '#d62728',
  ensemble: '#9467bd',
  'async-blend': '#ff7f0e',
  rtc: '#1f77b4',
};
const charts: string[] = [];
for (const policy of [...new Set(cells.map((c) => c.policy))]) {
  const series = (f: (s: ReturnType<typeof summary>) => number): Series[] =>
    schedules.map((schedule) => ({
      name: schedule,
      color: COLORS[schedule],
      points: delays.map((d) => {
        const cs = cells.filter((c) => c.policy === policy && c.schedule === schedule && c.delayMs === d);
        const all: Cell = {
          policy,
          schedule,
          delayMs: d,
          task: tasks[0],
          episodes: cs.flatMap((c) => c.episodes),
        };
        return [d, f(summary(all))] as [number, number];
      }),
    }));
  charts.push(
    lineChart(
      `${policy}: success vs inference delay`,
      'delay (ms)',
      'success (%)',
      series((s) => (100 * s.successes) / s.n),
    ),
  );
  charts.push(
    lineChart(
      `${policy}: chunk-boundary discontinuity`,
      'delay (ms)',
      'boundary |Δv| (rad/s)',
      series((s) => s.boundary),
    ),
  );
  charts.push(
    lineChart(
      `${policy}: episode duration`,
      'delay (ms)',
      'mean duration (s)',
      series((s) => s.duration),
    ),
  );
}
mkdirSync(values.out, { recursive: true });
const cmd = [
  ...earlier.map((e) => e.command),
  `node --conditions=@anchor-refine/source --import tsx tools/bench/rtc.ts ${process.argv.slice(2).join(' ')}`,
].join(' && ');
writeFileSync(
  join(values.out, 'delay-eval.json'),
  JSON.stringify({ command: cmd, rateHz: RATE, seedOffset, cells }, null, 1),
);
writeFileSync(join(values.out, 'delay-eval.md'), `${rows.join('\n')}\n\nReproduce: \`${cmd}\`\n`);
// one SVG document holding the charts side by side
const w = 560;
const h = 300;
writeFileSync(
  join(values.out, 'delay-eval.svg'),
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w * 3}" height="${h * (charts.length / 3)}"><title>Closed-loop success and chunk-boundary jump vs injected inference delay, per schedule</title>${charts
    .map(
      (c, i) =>
        `<g transform="translate(${(i % 3) * w},${Math.floor(i / 3) * h})">${c.replace(/^<svg /, '<svg x="0" y="0" ')}</g>`,
    )
    .join('')}</svg>\n`,
);
console.log(rows.join('\n'));
console.error(
  `wrote ${values.out}/delay-eval.{json,md,svg} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
