/**
 * Expert success over N seeds per task (default 100, seeds 0..N-1), physics only (no rendering).
 * Run: node --conditions=@anchor-refine/source --import tsx packages/sim/scripts/expert-success.ts [--seeds 100] [--aim-noise 0]
 */
import cliProgress from 'cli-progress';
import { wilsonInterval } from '../src/eval/stats.js';
import { makeEnv, runExpert, TASK_IDS, type TaskId } from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${process.argv[i + 1]}`);
  return v;
}

const seeds = arg('seeds', 100);
const aimNoise = arg('aim-noise', 0);
const rows: { task: TaskId; ok: number; n: number; steps: number; ms: number; failed: number[] }[] = [];
const bar = new cliProgress.SingleBar(
  { format: '{task} [{bar}] {value}/{total}' },
  cliProgress.Presets.shades_classic,
);
for (const task of TASK_IDS) {
  const env = await makeEnv(task, { render: false });
  bar.start(seeds, 0, { task });
  let ok = 0;
  let steps = 0;
  const failed: number[] = [];
  const t0 = performance.now();
  for (let s = 0; s < seeds; s++) {
    const r = runExpert(env, s, { aimNoise });
    if (r.success) ok++;
    else failed.push(s);
    steps += r.steps;
    bar.increment();
  }
  bar.stop();
  rows.push({ task, ok, n: seeds, steps: steps / seeds, ms: (performance.now() - t0) / seeds, failed });
  env.close();
}
console.log(`\nexpert success, seeds 0..${seeds - 1}, aim noise ${aimNoise} m`);
console.log('| task | success | 95% Wilson | mean steps | ms/episode (no images) | failed seeds |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const [lo, hi] = wilsonInterval(r.ok, r.n);
  console.log(
    `| ${r.task} | ${r.ok}/${r.n} | [${(100 * lo).toFixed(1)}, ${(100 * hi).toFixed(1)}] % | ${r.steps.toFixed(1)} | ${r.ms.toFixed(0)} | ${r.failed.slice(0, 10).join(' ')} |`,
  );
}
