/**
 * sim benchmark: scripted-expert episodes per minute with the front and wrist cameras (96×96, shadows)
 * rendered every 10 Hz step, episodes spread over worker threads (one WASM instance each), all four
 * tasks round-robin. Target: ≥ 200 episodes/min on 2 cores; the ratio to 200 is printed.
 *
 *   npx nx run sim:bench                      (or: npm run bench -w @anchor-refine/sim)
 *   ... -- --episodes 40                      episodes per task (default 40)
 *   ... -- --workers 2                        worker threads (default 2)
 *   ... -- --json out.json                    also write the results as JSON
 *
 * Peer numbers in the same run: the same episodes with rendering off (physics + IK + expert only), and
 * the single-thread render cost of one 96×96 frame with and without shadows.
 */
import { writeFileSync } from 'node:fs';
import { evaluate, makeEnv, TASK_IDS } from '@anchor-refine/sim';
import cliProgress from 'cli-progress';

const argv = process.argv.slice(2);
function opt(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name} needs a positive integer, got ${argv[i + 1]}`);
  return v;
}
const episodes = opt('episodes', 40);
const workers = opt('workers', 2);
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const TARGET = 200;

async function run(render: boolean) {
  const bar = new cliProgress.SingleBar(
    { format: `${render ? 'rendered  ' : 'no images '} [{bar}] {value}/{total} episodes` },
    cliProgress.Presets.shades_classic,
  );
  bar.start(episodes * TASK_IDS.length, 0);
  let firstDone = 0;
  let steps = 0;
  const t0 = performance.now();
  const report = await evaluate({
    policy: { module: '@anchor-refine/sim', exportName: 'createExpertPolicy', options: {} },
    tasks: [...TASK_IDS],
    episodes,
    seedOffset: 0,
    workers,
    env: { render },
    onEpisode: (r, done) => {
      if (done === 1) firstDone = performance.now();
      steps += r.steps;
      bar.update(done);
    },
  });
  bar.stop();
  const total = episodes * TASK_IDS.length;
  const wallS = (performance.now() - t0) / 1000;
  // Steady state: from the first finished episode on (excludes worker start-up, WASM instantiation,
  // scene compile and JIT warm-up, ≈1–3 s per worker).
  const steadyS = (performance.now() - firstDone) / 1000;
  const successes = report.tasks.reduce((s, t) => s + t.successes, 0);
  return {
    render,
    episodes: total,
    successes,
    meanSteps: steps / total,
    wallS,
    perMinute: (total / wallS) * 60,
    steadyPerMinute: ((total - 1) / steadyS) * 60,
    perTaskSteps: Object.fromEntries(report.tasks.map((t) => [t.task, t.meanSteps])),
  };
}

async function renderCost() {
  const env = await makeEnv('pick_cube', {});
  env.reset(0);
  const time = (n: number) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) env.observe();
    return (performance.now() - t) / n / 2;
  };
  time(30);
  const shadows = time(200);
  env.close();
  const env2 = await makeEnv('pick_cube', { shadows: false });
  env2.reset(0);
  const t2 = performance.now();
  for (let i = 0; i < 30; i++) env2.observe();
  const t3 = performance.now();
  for (let i = 0; i < 200; i++) env2.observe();
  const noShadows = (performance.now() - t3) / 200 / 2;
  void t2;
  env2.close();
  return { msPerFrameShadows: shadows, msPerFrameNoShadows: noShadows };
}

const rendered = await run(true);
const physics = await run(false);
const frame = await renderCost();
const ratio = rendered.perMinute / TARGET;
console.log(
  `\nsim bench: ${workers} workers, ${episodes} expert episodes per task × ${TASK_IDS.length} tasks`,
);
console.log(
  '| run | episodes/min (incl. start-up) | steady-state episodes/min | mean steps | expert success |',
);
console.log('|---|---|---|---|---|');
for (const r of [rendered, physics])
  console.log(
    `| ${r.render ? 'front+wrist 96×96 every step' : 'no images (peer)'} | ${r.perMinute.toFixed(0)} | ${r.steadyPerMinute.toFixed(0)} | ${r.meanSteps.toFixed(1)} | ${r.successes}/${r.episodes} |`,
  );
console.log(`mean steps per task: ${JSON.stringify(rendered.perTaskSteps)}`);
console.log(
  `render, one thread: ${frame.msPerFrameShadows.toFixed(2)} ms/frame with shadows vs ${frame.msPerFrameNoShadows.toFixed(2)} ms without`,
);
console.log(
  `TARGET ≥ ${TARGET} episodes/min with both cameras: ${rendered.perMinute.toFixed(0)} → ratio ${ratio.toFixed(2)}`,
);
if (jsonOut)
  writeFileSync(jsonOut, JSON.stringify({ workers, episodes, rendered, physics, frame, ratio }, null, 2));
