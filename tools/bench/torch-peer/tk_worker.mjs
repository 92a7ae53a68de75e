// Toolkit side of the interleaved benchmark: a long-lived node process that answers one JSON command per
// stdin line with one JSON line on stdout. Run with cwd = the checkout, on the sources or the built packages:
//   node --conditions=@anchor-refine/source --import tools/tsx-lean.mjs <this file>
//   TOOLKIT_FROM=dist node <this file>          (after npx tsc -b)
// Commands: {"cmd":"train","phase":"anchor"|"refine","n":5} -> per-step ms + CPU ticks by thread
//           {"cmd":"predict","n":50}                          -> per-call ms
//           {"cmd":"profile","phase":"anchor","n":2}           -> kernels per step, time by kernel / addon fn
//           {"cmd":"mem"}                                      -> RSS, its peak, V8 heap, ArrayBuffers, pool
//           {"cmd":"params"} / {"cmd":"quit"}
import fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import readline from 'node:readline';
import { benchSetup, countParams, ct, nn, pol, tf } from './tk_common.mjs';

await ct.selectBackend('native');
const { task, cfg, batch } = benchSetup();
const trainers = {};
// main-thread GC pauses (ms, count) while a measured command runs
const gc = { ms: 0, n: 0, on: false };
const gcEntries = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push([e.startTime, e.duration]);
  if (gcEntries.length > 100000) gcEntries.splice(0, 50000);
}).observe({ entryTypes: ['gc'] });
async function gcIn(t0, t1) {
  await new Promise((r) => setTimeout(r, 30)); // let the observer deliver
  let ms = 0;
  let n = 0;
  for (const [st, d] of gcEntries)
    if (st >= t0 && st <= t1) {
      ms += d;
      n++;
    }
  return { ms, n };
}

function trainer(phase) {
  if (trainers[phase]) return trainers[phase];
  const policy = new pol.AnchorRefinePolicy(cfg, task.stats);
  policy.beginRefinePhase();
  const vars = policy.setPhase(phase);
  const opt = new nn.AdamW(
    policy.namedParameters().filter(([, v]) => vars.includes(v)),
    { lr: 1e-4 },
  );
  const t = policy.toTensors(batch);
  pol.trainStep(policy, opt, t, phase); // warm-up
  trainers[phase] = { policy, opt, t };
  return trainers[phase];
}

let predictor;
// predict runs as a control loop does: call i sees frames (i, i+1) of a ring of 16, so each call brings one
// new frame and the one before it (history 2); the torch worker walks the same kind of ring.
const RING = Array.from({ length: 16 }, (_, k) => task.observation(Math.floor(k / 8), 4 + (k % 8)));
let tick = 0;
const nextObs = () => {
  tick += 1;
  return [RING[tick % RING.length], RING[(tick + 1) % RING.length]];
};
function predictPolicy() {
  if (!predictor) {
    predictor = new pol.AnchorRefinePolicy(cfg, task.stats);
    for (let i = 0; i < 5; i++) predictor.predictActionChunk(nextObs());
  }
  return predictor;
}

/** utime+stime ticks per thread of this process (/proc/self/task/<tid>/stat fields 14, 15). */
function threadTicks() {
  const out = {};
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const s = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      out[tid] = { name, ticks: Number(rest[11]) + Number(rest[12]) };
    } catch {}
  }
  return out;
}
function minflt() {
  const s = fs.readFileSync('/proc/self/stat', 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7]);
}
function tickDelta(a, b) {
  const d = {};
  for (const [tid, v] of Object.entries(b)) {
    const dt = v.ticks - (a[tid]?.ticks ?? 0);
    if (dt > 0) d[`${tid}:${v.name}`] = dt;
  }
  return d;
}

function kernelCategory(name) {
  if (/MatMul/.test(name)) return 'gemm';
  if (/Attention|Softmax/.test(name)) return 'attention';
  if (/LayerNorm|Gelu/.test(name)) return 'layernorm+gelu (fused)';
  if (
    /^(Reshape|Transpose|Concat|Slice|SplitV|PadV2|Tile|BroadcastTo|Gather.*|UnsortedSegmentSum|Pack|Unpack|Identity|Cast|OneHot|ExpandDims|Squeeze|StridedSlice|Fill|ZerosLike|OnesLike|Range)$/.test(
      name,
    )
  )
    return 'data movement / shape';
  if (/^(Sum|Mean|Max|Min|Prod|ArgMax|ArgMin|All|Any)$/.test(name)) return 'reduction';
  return 'elementwise';
}

// Wrap the addon's functions to time native work (the rest of a kernel's time is its JS wrapper).
const addon = ct.loadAddon();
const addonTime = {};
let addonOn = false;
for (const k of Object.keys(addon)) {
  const f = addon[k];
  if (typeof f !== 'function' || k === 'features') continue;
  addon[k] = (...args) => {
    if (!addonOn) return f(...args);
    const t0 = performance.now();
    try {
      return f(...args);
    } finally {
      addonTime[k] ??= { calls: 0, ms: 0 };
      const e = addonTime[k];
      e.calls++;
      e.ms += performance.now() - t0;
    }
  };
}

async function profile(phase, n) {
  const { policy, opt, t } = trainer(phase);
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  // optimizer.step (host AdamW loop + new tensors) timed by a wrapper
  const optStep = opt.step.bind(opt);
  let optMs = 0;
  opt.step = (...a) => {
    const t0 = performance.now();
    try {
      return optStep(...a);
    } finally {
      optMs += performance.now() - t0;
    }
  };
  // 1. unprofiled wall of the same steps (no wrappers active)
  let wall = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    pol.trainStep(policy, opt, t, phase);
    wall += performance.now() - t0;
  }
  optMs = 0;
  // 2. tf.profile (every kernel, its time incl. JS wrapper + output allocation) with addon timing, same steps
  for (const k of Object.keys(addonTime)) delete addonTime[k];
  const byName = {};
  let profWall = 0;
  let kernels = 0;
  const p0 = performance.now();
  addonOn = true;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const info = await tf.profile(() => {
      pol.trainStep(policy, opt, t, phase);
    });
    profWall += performance.now() - t0;
    kernels += info.kernels.length;
    for (const k of info.kernels) {
      byName[k.name] ??= { calls: 0, ms: 0 };
      const e = byName[k.name];
      e.calls++;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    }
  }
  addonOn = false;
  const g = await gcIn(p0, performance.now());
  gc.ms = g.ms;
  opt.step = optStep;
  for (const e of Object.values(byName)) {
    e.calls /= n;
    e.ms /= n;
  }
  const addonPerStep = Object.fromEntries(
    Object.entries(addonTime).map(([k, v]) => [k, { calls: v.calls / n, ms: v.ms / n }]),
  );
  const byCat = {};
  for (const [name, e] of Object.entries(byName)) {
    byCat[kernelCategory(name)] ??= { calls: 0, ms: 0 };
    const c = byCat[kernelCategory(name)];
    c.calls += e.calls;
    c.ms += e.ms;
  }
  return {
    wallMs: wall / n,
    profiledWallMs: profWall / n,
    kernelsPerStep: kernels / n,
    kernelMsPerStep: Object.values(byName).reduce((s, e) => s + e.ms, 0),
    addonMsPerStep: Object.values(addonPerStep).reduce((s, e) => s + e.ms, 0),
    addonCallsPerStep: Object.values(addonPerStep).reduce((s, e) => s + e.calls, 0),
    optimizerStepMs: optMs / n,
    gcPauseMsPerStep: gc.ms / n,
    byCat,
    byName,
    addon: addonPerStep,
  };
}

async function handle(msg) {
  switch (msg.cmd) {
    case 'params': {
      const p = new pol.AnchorRefinePolicy(cfg, task.stats);
      const c = countParams(p);
      const p1 = p.setPhase('anchor').reduce((s, v) => s + v.size, 0);
      const p2 = p.setPhase('refine').reduce((s, v) => s + v.size, 0);
      p.dispose();
      return { total: c.total, phase1: p1, phase2: p2, byTop: c.byTop };
    }
    case 'train': {
      const { policy, opt, t } = trainer(msg.phase);
      const times = [];
      const a = threadTicks();
      const c0 = process.cpuUsage();
      const f0 = minflt();
      gc.ms = 0;
      gc.n = 0;
      gc.on = true;
      const w0 = performance.now();
      for (let i = 0; i < msg.n; i++) {
        const t0 = performance.now();
        pol.trainStep(policy, opt, t, msg.phase);
        times.push(performance.now() - t0);
      }
      const w1 = performance.now();
      const wall = w1 - w0;
      const g = await gcIn(w0, w1);
      gc.ms = g.ms;
      gc.n = g.n;
      const cu = process.cpuUsage(c0);
      // one more step, untimed, under tf.profile: how many kernels a step dispatches
      const prof = await tf.profile(() => {
        pol.trainStep(policy, opt, t, msg.phase);
      });
      return {
        kernelsPerStep: prof.kernels.length,
        times,
        wallMs: wall,
        cpuMs: (cu.user + cu.system) / 1000,
        sysMs: cu.system / 1000,
        minflt: minflt() - f0,
        threads: tickDelta(a, threadTicks()),
        numTensors: tf.memory().numTensors,
        gcPauseMsPerStep: gc.ms / msg.n,
        gcPausesPerStep: gc.n / msg.n,
      };
    }
    case 'predict': {
      const p = predictPolicy();
      const times = [];
      for (let i = 0; i < msg.n; i++) {
        const o = nextObs();
        const t0 = performance.now();
        p.predictActionChunk(o);
        times.push(performance.now() - t0);
      }
      return { times };
    }
    case 'profile':
      return profile(msg.phase, msg.n ?? 2);
    case 'gemmshapes': {
      const { policy, opt, t } = trainer(msg.phase);
      const info = await tf.profile(() => {
        pol.trainStep(policy, opt, t, msg.phase);
      });
      return {
        shapes: info.kernels
          .filter((k) => k.name === 'BatchMatMul' || k.name === '_FusedMatMul')
          .map((k) => [k.inputShapes[0], k.inputShapes[1], k.outputShapes[0]]),
      };
    }
    case 'gemmreplay': {
      // every GEMM of one step on pre-made inputs (output allocation included, as in the step)
      const mats = msg.gemms.map(([as, bs, ta, tb]) => [tf.randomNormal(as), tf.randomNormal(bs), ta, tb]);
      const passes = [];
      for (let r = 0; r < msg.reps; r++) {
        const t0 = performance.now();
        for (const [a, b, ta, tb] of mats) tf.matMul(a, b, ta, tb).dispose();
        passes.push(performance.now() - t0);
      }
      // the same GEMMs straight into the addon with preallocated outputs (no tfjs op, no new buffer)
      const raw = mats.map(([a, b, ta, tb]) => {
        const as = a.shape.slice(-2);
        const bs = b.shape.slice(-2);
        const m = ta ? as[1] : as[0];
        const k = ta ? as[0] : as[1];
        const n = tb ? bs[0] : bs[1];
        return [ta, tb, m, n, k, a.dataSync(), b.dataSync(), new Float32Array(m * n)];
      });
      const rawPasses = [];
      for (let r = 0; r < msg.reps; r++) {
        const t0 = performance.now();
        for (const [ta, tb, m, n, k, av, bv, out] of raw) addon.gemm(ta, tb, m, n, k, 1, av, bv, 0, out);
        rawPasses.push(performance.now() - t0);
      }
      for (const [a, b] of mats) tf.dispose([a, b]);
      return { times: passes, rawTimes: rawPasses };
    }
    case 'dispatch': {
      const a = tf.ones([8]);
      const b = tf.ones([8]);
      const times = [];
      for (let r = 0; r < msg.reps; r++) {
        const t0 = performance.now();
        for (let i = 0; i < msg.n; i++) tf.add(a, b).dispose();
        times.push(((performance.now() - t0) * 1000) / msg.n);
      }
      tf.dispose([a, b]);
      return { times };
    }
    case 'mem': {
      // where the resident set is: V8 heap, external (ArrayBuffers: tensor data), the pool's share, VmHWM
      const m = process.memoryUsage();
      const st = fs.readFileSync('/proc/self/status', 'utf8');
      const kb = (k) => Number(st.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? Number.NaN) / 1024;
      const pool = ct.bufferPoolStats(tf.backend());
      return {
        rssMb: m.rss / 2 ** 20,
        hwmMb: kb('VmHWM'),
        heapUsedMb: m.heapUsed / 2 ** 20,
        heapTotalMb: m.heapTotal / 2 ** 20,
        externalMb: m.external / 2 ** 20,
        arrayBuffersMb: m.arrayBuffers / 2 ** 20,
        poolHeldMb: (pool?.heldBytes ?? 0) / 2 ** 20,
        tensorMb: tf.memory().numBytes / 2 ** 20,
      };
    }
    case 'quit':
      process.exit(0);
  }
  throw new Error(`unknown cmd ${msg.cmd}`);
}

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true, backend: ct.backendInfo().features })}\n`);
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    reply = await handle(JSON.parse(line));
  } catch (e) {
    reply = { error: String(e?.stack ?? e) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
