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
 *
 * Peer (issue 16 item 5): gloo's own all-reduce through PyTorch's ProcessGroupGloo
 * (`torch-peer/gloo_allreduce.py`, 2 ranks, loopback, torch.set_num_threads(1) per rank) at the same
 * element counts and call counts, run once before and once after the addon's ranks (peer, addon, peer)
 * so both see the same load; the table gives the mean of the two peer runs and addon ÷ gloo per size.
 * Interpreter: env TORCH_PYTHON, else /usr/bin/python3 (Debian python3-torch); without torch + gloo it
 * prints "gloo peer: skipped (…)" and goes on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
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
const ALL_FLOATS = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 1 << 24];
const FLOATS = quick ? ALL_FLOATS.slice(0, 4) : ALL_FLOATS;
// Both ranks must run the same number of calls: a fixed count per size, small sizes more.
const itersFor = (n: number) => Math.max(3, Math.min(200, Math.round(2e7 / n)));

function smallPolicy(phase: Phase) {
  const policy = new AnchorRefinePolicy(cfg, task.stats);
  policy.beginRefinePhase();
  const vars = policy.setPhase(phase);
  return { policy, named: policy.namedParameters().filter(([, v]) => vars.includes(v)) };
}

interface SizeReport {
  bytes: number;
  ms: number;
  iters: number;
}

interface RankReport {
  sizes: SizeReport[];
  /** 1-minute load average on rank 0 before and after the sizes. */
  loadavg: number[];
  latencyMs: number;
  steps: Record<string, { params: number; bytes: number; calls: number; p50: number; p99: number }>;
}

async function rank(): Promise<void> {
  const env = readDistEnv();
  if (!env) throw new Error('allreduce bench: no env contract');
  const pg = await ProcessGroup.fromEnv(env);
  const out: RankReport = { sizes: [], loadavg: [loadavg()[0]], latencyMs: 0, steps: {} };
  for (const n of FLOATS) {
    const buf = new Float32Array(n).fill(1);
    await pg.allReduce(buf); // warm-up
    let iters = 0;
    const t0 = performance.now();
    const want = itersFor(n);
    for (; iters < want; iters++) await pg.allReduce(buf);
    out.sizes.push({ bytes: 4 * n, ms: (performance.now() - t0) / iters, iters });
  }
  out.loadavg.push(loadavg()[0]);
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

interface PeerReport {
  sizes: SizeReport[];
  torch: string;
  threads: number;
  backend: string;
  /** 1-minute load average on the peer's rank 0 before and after its sizes. */
  loadavg: number[];
}

/** One run of gloo's own all-reduce (torch ProcessGroupGloo, 2 ranks); a string says why there is none. */
function glooPeer(): PeerReport | string {
  const py = process.env.TORCH_PYTHON ?? '/usr/bin/python3';
  const script = fileURLToPath(new URL('./torch-peer/gloo_allreduce.py', import.meta.url));
  const skipped = (why: string) => `skipped (no torch with gloo at ${py}${why})`;
  if (!existsSync(py)) return skipped(': no such file');
  const timeoutS = quick ? 120 : 600;
  const args = [script, '--floats', FLOATS.join(','), '--iters', FLOATS.map(itersFor).join(',')];
  const r = spawnSync(py, [...args, '--timeout', String(timeoutS)], {
    encoding: 'utf8',
    timeout: (timeoutS + 30) * 1000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'EACCES' ? skipped(`: ${code}`) : `failed (${r.error.message})`;
  }
  if (r.status === 3) return skipped(`: ${r.stderr.trim().split('\n').pop()}`);
  const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
  if (r.status !== 0) return `failed (exit ${r.status ?? r.signal}: ${tail})`;
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) return `failed (no JSON on stdout: ${tail})`;
  return JSON.parse(line) as PeerReport;
}

/** Ring all-reduce on paper: 2(n−1)/n · bytes / bandwidth + 2(n−1) · α. */
export const ringMs = (n: number, bytes: number, gbit: number, alphaMs: number) =>
  ((2 * (n - 1)) / n) * ((bytes * 8) / (gbit * 1e9)) * 1e3 + 2 * (n - 1) * alphaMs;

async function main(): Promise<void> {
  await selectBackend('native');
  const step: Record<string, number> = {};
  for (const phase of PHASES) step[phase] = stepMs(phase);
  const self = fileURLToPath(import.meta.url);
  // peer, addon, peer: the peer brackets the addon's ranks so that both meet the same load.
  const peerRuns: Array<PeerReport | string> = [glooPeer()];
  const res = await runRanks(self, 2, quick ? { BENCH_QUICK: '1' } : {}, 600_000);
  for (const r of res) if (r.code !== 0) throw new Error(`rank ${r.rank} failed:\n${r.stderr}`);
  const rep = lastJson<RankReport>(res[0]);
  if (typeof peerRuns[0] !== 'string') peerRuns.push(glooPeer());
  console.log('\n## gloo ring all-reduce (sum), 2 ranks, loopback TCP');
  console.log('bytes        ms/call   algbw GB/s  busbw GB/s  calls');
  for (const s of rep.sizes) {
    const alg = s.bytes / (s.ms / 1e3) / 1e9;
    console.log(
      `${String(s.bytes).padEnd(12)} ${s.ms.toFixed(3).padEnd(9)} ${alg.toFixed(3).padEnd(11)} ${alg.toFixed(3).padEnd(11)} ${s.iters}`,
    );
  }
  const peers = peerRuns.filter((p): p is PeerReport => typeof p !== 'string');
  const glooCompare: Array<Record<string, number>> = [];
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join('→');
  if (peers.length === 0) console.log(`\ngloo peer: ${peerRuns[0]}`);
  else {
    for (const p of peerRuns) if (typeof p === 'string') console.log(`\ngloo peer (2nd run): ${p}`);
    const p0 = peers[0];
    console.log(
      `\n## addon vs gloo's own all-reduce (torch ${p0.torch} ProcessGroupGloo, ${p0.threads} thread/rank), 2 ranks, loopback, same run`,
    );
    console.log(
      `load average (1 min): gloo peer ${fmtLoad(p0.loadavg)}, addon ${fmtLoad(rep.loadavg)}` +
        (peers[1] ? `, gloo peer ${fmtLoad(peers[1].loadavg)}` : '') +
        ` (peer, addon, peer; gloo ms = mean of ${peers.length} peer run${peers.length > 1 ? 's' : ''})`,
    );
    console.log(
      'bytes        addon ms  gloo ms   addon/gloo  addon GB/s  gloo GB/s  gloo runs ms      calls',
    );
    for (const s of rep.sizes) {
      const runs = peers.map((p) => p.sizes.find((q) => q.bytes === s.bytes)?.ms ?? Number.NaN);
      const gloo = runs.reduce((a, b) => a + b, 0) / runs.length;
      const addonBw = s.bytes / (s.ms / 1e3) / 1e9;
      const glooBw = s.bytes / (gloo / 1e3) / 1e9;
      glooCompare.push({ bytes: s.bytes, addonMs: s.ms, glooMs: gloo, ratio: s.ms / gloo, addonBw, glooBw });
      console.log(
        `${String(s.bytes).padEnd(12)} ${s.ms.toFixed(3).padEnd(9)} ${gloo.toFixed(3).padEnd(9)} ${(s.ms / gloo).toFixed(2).padEnd(11)} ${addonBw.toFixed(3).padEnd(11)} ${glooBw.toFixed(3).padEnd(10)} ${runs
          .map((x) => x.toFixed(3))
          .join(' / ')
          .padEnd(17)} ${s.iters}`,
      );
    }
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
  const glooPeerOut = { runs: peerRuns, compare: glooCompare };
  if (jsonOut)
    writeFileSync(jsonOut, JSON.stringify({ ...rep, stepMs: step, projection, gloo: glooPeerOut }, null, 2));
}

if (readDistEnv()) await rank();
else await main();
