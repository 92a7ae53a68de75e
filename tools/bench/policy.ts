/**
 * Policy benchmark (issue 3 targets), every number next to a peer from the same run:
 *
 *   node --conditions=@anchor-refine/source --import tsx tools/bench/policy.ts [--quick] [--json out.json]
 *     [--only predict|train]
 *
 * 1. Train step of the `small` GR-1 AnchorRefine policy (2 cameras 96×96, history 2, chunk 10), phase 1 and
 *    phase 2, on the `native` backend vs tfjs's `cpu` backend (same weights, same batch): p50 / p99 and
 *    the ratio (target ≥ 30×), with FLOPs per step (Linear + attention, forward ×3 for fwd+bwd) so the
 *    achieved GFLOP/s is visible.
 * 2. `predictActionChunk` latency of `small` (anchor + refine, one observation history): p50 / p99
 *    (target p50 ≤ 30 ms on 2 cores), FLOPs per call, and the anchor-only policy as the peer.
 */
import { writeFileSync } from 'node:fs';
import { backendInfo, selectBackend } from '@anchor-refine/core-tensors';
import { AdamW, countFlops, Rng } from '@anchor-refine/nn';
import {
  AnchorRefinePolicy,
  disposeBatchTensors,
  type Phase,
  policyConfig,
  SyntheticReachTask,
  trainStep,
} from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { measureLoaderThroughput } from './datasets.js';
import { percentiles } from './percentiles.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const batchSize = 8;
const results: Record<string, unknown> = {};

// The small config fed by the synthetic task (state 6, arm 3); the data only sets shapes here.
const task = new SyntheticReachTask({ episodes: 8, imageSize: 96, seed: 1 });
const cfg = policyConfig('small', { backbone: { config: { stateDim: task.stateDim, armDim: 3 } } });
const bb = cfg.backbone.config;
const batch = task.batch(new Rng(2), batchSize, bb.history, bb.horizon, [0, 1, 2, 3, 4, 5, 6, 7]);

function stepTimes(phase: Phase, reps: number): { times: number[]; flops: number } {
  const policy = new AnchorRefinePolicy(cfg, task.stats);
  policy.beginRefinePhase();
  const vars = policy.setPhase(phase);
  const opt = new AdamW(
    policy.namedParameters().filter(([, v]) => vars.includes(v)),
    { lr: 1e-4 },
  );
  const t = policy.toTensors(batch);
  const { flops } = countFlops(() => {
    const out = policy.forward(t, phase);
    tf.dispose([out.loss, ...Object.values(out.metrics)]);
  });
  trainStep(policy, opt, t, phase); // warm-up
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    trainStep(policy, opt, t, phase);
    times.push(performance.now() - t0);
  }
  disposeBatchTensors(t);
  opt.dispose();
  policy.dispose();
  return { times, flops: 3 * flops };
}

async function trainSection(): Promise<void> {
  console.log(
    `\n## train step, small GR-1 (batch ${batchSize}, 2×96×96 cameras, history ${bb.history}, H ${bb.horizon})`,
  );
  console.log('phase   backend  p50 ms    p99 ms    GFLOP/step  GFLOP/s   ratio');
  for (const phase of ['anchor', 'refine'] as const) {
    await selectBackend('native');
    const nat = stepTimes(phase, quick ? 5 : 20);
    await selectBackend('cpu');
    const cpu = stepTimes(phase, quick ? 1 : 2);
    await selectBackend('native');
    const n = percentiles(nat.times);
    const c = percentiles(cpu.times);
    const gf = nat.flops / 1e9;
    const row = (name: string, p: { p50: number; p99: number }, ratio: string) =>
      console.log(
        `${phase.padEnd(7)} ${name.padEnd(8)} ${p.p50.toFixed(1).padStart(8)}  ${p.p99.toFixed(1).padStart(8)}  ${gf.toFixed(3).padStart(10)}  ${(gf / (p.p50 / 1000)).toFixed(2).padStart(8)}  ${ratio}`,
      );
    row('native', n, `${(c.p50 / n.p50).toFixed(1)}× faster than cpu (target ≥ 30×)`);
    row('cpu', c, '1');
    results[`train_${phase}`] = { native: n, cpu: c, gflopPerStep: gf, ratio: c.p50 / n.p50 };
  }
}

/** Issue 4's check: the LeRobot loader (same shapes, PNG decode included) must outrun the small train step. */
async function loaderSection(): Promise<void> {
  const step = results.train_anchor as { native: { p50: number } } | undefined;
  if (!step) return;
  const need = batchSize / (step.native.p50 / 1000);
  const report = await measureLoaderThroughput({
    episodes: 8,
    episodeLength: 60,
    batchSize,
    batches: quick ? 10 : 40,
    workers: [0, 1],
  });
  console.log(
    `\n## loader vs train step (batch ${batchSize}, 2×96×96 PNG cameras, history ${bb.history}, H ${bb.horizon})`,
  );
  console.log(
    `train step consumes ${need.toFixed(1)} samples/s (phase 1 p50 ${step.native.p50.toFixed(0)} ms)`,
  );
  for (const r of report.results) {
    console.log(
      `loader ${r.mode.padEnd(10)} ${r.framesPerSec.toFixed(1)} samples/s → ${(r.framesPerSec / need).toFixed(1)}× the train step's need`,
    );
  }
  results.loader = { need, results: report.results };
}

function latencySection(): void {
  console.log('\n## predictActionChunk, small GR-1 (one observation history, 2×96×96 cameras)');
  const obs = [task.observation(0, 4), task.observation(0, 5)];
  const rows: Array<[string, typeof cfg]> = [
    ['anchor + refine', cfg],
    ['anchor only (peer)', { ...cfg, refine: { ...cfg.refine, enabled: false } }],
  ];
  const base: Record<string, number> = {};
  for (const [name, c] of rows) {
    const policy = new AnchorRefinePolicy(c, task.stats);
    const { flops } = countFlops(() => policy.predictActionChunk(obs));
    for (let i = 0; i < 5; i++) policy.predictActionChunk(obs);
    const times: number[] = [];
    for (let i = 0; i < (quick ? 30 : 200); i++) {
      const t0 = performance.now();
      policy.predictActionChunk(obs);
      times.push(performance.now() - t0);
    }
    const p = percentiles(times);
    base[name] = p.p50;
    console.log(
      `${name.padEnd(20)} p50 ${p.p50.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms  ${(flops / 1e9).toFixed(3)} GFLOP/call  ${(flops / 1e9 / (p.p50 / 1000)).toFixed(2)} GFLOP/s`,
    );
    results[`predict_${name.split(' ')[0]}${c.refine.enabled ? '_refine' : ''}`] = {
      ...p,
      gflop: flops / 1e9,
    };
    policy.dispose();
  }
  const withRefine = base['anchor + refine'];
  console.log(
    `anchor + refine p50 ${withRefine.toFixed(2)} ms (target ≤ 30 ms: ${withRefine <= 30 ? 'met' : 'NOT met'}); refinement adds ${(100 * (withRefine / base['anchor only (peer)'] - 1)).toFixed(0)}% to the anchor-only call`,
  );
}

await selectBackend('native');
console.log(`backend: ${JSON.stringify(backendInfo())}`);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
if (only !== 'train') latencySection();
if (only !== 'predict') {
  await trainSection();
  await loaderSection();
}
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
