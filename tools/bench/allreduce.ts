/**
 * Issue 16 numbers: the distributed addon's all-reduce on loopback, the `small` policy's per-step
 * gradient traffic at 2 ranks, and a paper projection to 8 / 64 ranks at 10 / 100 Gbit/s.
 *
 *   node --conditions=@anchor-refine/source --import tsx tools/bench/allreduce.ts [--quick] [--json out.json]
 *
 * Without RANK it measures the single-process train step of `small` (phase 1 and 2), then starts two
 * ranks of itself on localhost (TCP store, gloo TCP transport) which measure: ring all-reduce (sum) of
 * 4 KB … 64 MB float32 buffers (time per call; algorithm bandwidth = bytes / time; bus bandwidth =
 * algbw · 2(n−1)/n, the per-link rate a ring needs) and one step's FusionBuffer reduce of the `small`
 * policy's trainable gradients (25 MiB buckets) per phase.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@anchor-refine/core-tensors';
import { FusionBuffer, ProcessGroup, readDistEnv } from '@anchor-refine/distributed';
import { AdamW, Rng } from '@anchor-refine/nn';
import {
  AnchorRefinePolicy,
  disposeBatchTensors,
  type Phase,
  policyConfig,
  SyntheticReachTask,
  trainStep,
} from '@anchor-refine/policy';
import { lastJson, runRanks } from '../../packages/distributed/src/test-utils/spawn.ts';
import { percentiles } from './percentiles.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const task = new SyntheticReachTask({ episodes: 8, imageSize: 96, seed: 1 });
const cfg = policyConfig('small', { backbone: { config: { stateDim: task.stateDim, armDim: 3 } } });
const PHASES: Phase[] = ['anchor', 'refine'];

function smallPolicy(phase: Phase) {
  const policy = new AnchorRefinePolicy(cfg, task.stats);
  policy.beginRefinePhase();
  const vars = policy.setPhase(phase);
  return { policy, named: policy.namedParameters().filter(([, v]) => vars.includes(v)) };
}

interface RankReport {
  sizes: Array<{ bytes: number; ms: number; iters: number }>;
  latencyMs: number;
  steps: Record<string, { params: number; bytes: number; calls: number; p50: number; p99: number }>;
}

async function rank(): Promise<void> {
  const env = readDistEnv();
  if (!env) throw new Error('allreduce bench: no env contract');
  const pg = await ProcessGroup.fromEnv(env);
  const out: RankReport = { sizes: [], latencyMs: 0, steps: {} };
  const floats = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 1 << 24];
  for (const n of quick ? floats.slice(0, 4) : floats) {
    const buf = new Float32Array(n).fill(1);
    await pg.allReduce(buf); // warm-up
    let iters = 0;
    const t0 = performance.now();
    // Both ranks must run the same number of calls: a fixed count per size, small sizes more.
    const want = Math.max(3, Math.min(200, Math.round(2e7 / n)));
    for (; iters < want; iters++) await pg.allReduce(buf);
    out.sizes.push({ bytes: 4 * n, ms: (performance.now() - t0) / iters, iters });
  }
  out.latencyMs = out.sizes[0].ms;
  for (const phase of PHASES) {
    const { policy, named } = smallPolicy(phase);
    const entries = [...named].reverse().map(([name, v]) => ({ name, size: v.size }));
    const grads = new Map(named.map(([name, v]) => [name, new Float32Array(v.size).fill(0.5)]));
    const fusion = new FusionBuffer(entries, 8);
    const times: number[] = [];
    let bytes = 0;
    let calls = 0;
    for (let i = 0; i < (quick ? 4 : 12); i++) {
      const t0 = performance.now();
      const r = await fusion.reduce(pg, (name) => grads.get(name) as Float32Array, 40, new Array(8).fill(1));
      times.push(performance.now() - t0);
      bytes = r.bytes;
      calls = r.calls;
    }
    const p = percentiles(times.slice(1));
    out.steps[phase] = {
      params: entries.reduce((a, e) => a + e.size, 0),
      bytes,
      calls,
      p50: p.p50,
      p99: p.p99,
    };
    policy.dispose();
  }
  await pg.barrier();
  await pg.close();
  if (env.rank === 0) console.log(JSON.stringify(out));
}

function stepMs(phase: Phase): number {
  const { policy, named } = smallPolicy(phase);
  const opt = new AdamW(named, { lr: 1e-4 });
  const bb = cfg.backbone.config;
  const t = policy.toTensors(task.batch(new Rng(2), 8, bb.history, bb.horizon, [0, 1, 2, 3, 4, 5, 6, 7]));
  trainStep(policy, opt, t, phase);
  const times: number[] = [];
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    const t0 = performance.now();
    trainStep(policy, opt, t, phase);
    times.push(performance.now() - t0);
  }
  disposeBatchTensors(t);
  opt.dispose();
  policy.dispose();
  return percentiles(times).p50;
}

/** Ring all-reduce on paper: 2(n−1)/n · bytes / bandwidth + 2(n−1) · α. */
export const ringMs = (n: number, bytes: number, gbit: number, alphaMs: number) =>
  ((2 * (n - 1)) / n) * ((bytes * 8) / (gbit * 1e9)) * 1e3 + 2 * (n - 1) * alphaMs;

async function main(): Promise<void> {
  await selectBackend('native');
  const step: Record<string, number> = {};
  for (const phase of PHASES) step[phase] = stepMs(phase);
  const self = fileURLToPath(import.meta.url);
  const res = await runRanks(self, 2, quick ? { BENCH_QUICK: '1' } : {}, 600_000);
  for (const r of res) if (r.code !== 0) throw new Error(`rank ${r.rank} failed:\n${r.stderr}`);
  const rep = lastJson<RankReport>(res[0]);
  console.log('\n## gloo ring all-reduce (sum), 2 ranks, loopback TCP');
  console.log('bytes        ms/call   algbw GB/s  busbw GB/s  calls');
  for (const s of rep.sizes) {
    const alg = s.bytes / (s.ms / 1e3) / 1e9;
    console.log(
      `${String(s.bytes).padEnd(12)} ${s.ms.toFixed(3).padEnd(9)} ${alg.toFixed(3).padEnd(11)} ${alg.toFixed(3).padEnd(11)} ${s.iters}`,
    );
  }
  console.log('\n## small policy, one step at 2 ranks (25 MiB fusion buckets)');
  console.log('phase   params     MB/step  all-reduces  comm p50 ms  comm p99 ms  compute ms (1 process)');
  for (const phase of PHASES) {
    const s = rep.steps[phase];
    console.log(
      `${phase.padEnd(7)} ${String(s.params).padEnd(10)} ${(s.bytes / 1e6).toFixed(2).padEnd(8)} ${String(s.calls).padEnd(12)} ${s.p50.toFixed(1).padEnd(12)} ${s.p99.toFixed(1).padEnd(12)} ${step[phase].toFixed(0)}`,
    );
  }
  // α: the measured 4 KB call on loopback over its 2(n−1) = 2 ring steps, as the per-hop latency.
  const alpha = rep.latencyMs / 2;
  console.log(`\n## projection (per-hop latency α = ${alpha.toFixed(3)} ms from the 4 KB loopback call)`);
  console.log('phase   ranks  Gbit/s  comm ms  compute ms  efficiency (no overlap)');
  const projection: Array<Record<string, number | string>> = [];
  for (const phase of PHASES)
    for (const n of [8, 64])
      for (const gbit of [10, 100]) {
        const comm = ringMs(n, rep.steps[phase].bytes, gbit, alpha);
        const eff = step[phase] / (step[phase] + comm);
        projection.push({ phase, ranks: n, gbit, commMs: comm, computeMs: step[phase], efficiency: eff });
        console.log(
          `${phase.padEnd(7)} ${String(n).padEnd(6)} ${String(gbit).padEnd(7)} ${comm.toFixed(1).padEnd(8)} ${step[phase].toFixed(0).padEnd(11)} ${(100 * eff).toFixed(1)}%`,
        );
      }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ...rep, stepMs: step, projection }, null, 2));
}

if (readDistEnv()) await rank();
else await main();
