/**
 * deploy benchmark.
 *
 *   npx nx run deploy:bench                   (or: npm run bench -w @anchor-refine/deploy)
 *   ... -- --requests 300                     requests per surface (default 300, at 30 requests/s)
 *   ... -- --steps 100                        sim control-loop steps (default 100, at 10 Hz)
 *   ... -- --threads 1                        model threads for the server part (default 1: a core for the event loop)
 *   ... -- --json out.json                    also write the results as JSON
 *
 * 1. Server overhead at 30 requests/s: request-to-response time at the client minus the model time the
 *    worker reports (`policy_timing.infer_ms`), for the openpi websocket (LIBERO-style 224×224 images,
 *    resized to the policy's size by the server) and for X-VLA `POST /act`. The model time is printed as
 *    the peer. Target: p99 ≤ 5 ms. The `tiny` policy keeps the model under the 33 ms request spacing, so
 *    requests do not queue behind each other.
 * 2. The sim robot loop at 10 Hz with the `small` policy (random init; inference time is what matters):
 *    achieved rate, missed deadlines (a step starting >10 % of a period late), watchdog holds and the
 *    model time as the peer.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  ControlLoop,
  ndarray,
  PolicyClient,
  packNumpy,
  SimRobot,
  startServer,
  toJsonNumpy,
} from '@anchor-refine/deploy';
import { Decoder } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { quantile } from './percentiles.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name} needs a positive integer, got ${argv[i + 1]}`);
  return v;
};
const N = opt('requests', 300);
const STEPS = opt('steps', 100);
const THREADS = opt('threads', 1);
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;

const pct = (xs: number[], p: number) => quantile(xs, p / 100);
const f = (x: number) => x.toFixed(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function image(): Uint8Array {
  const d = new Uint8Array(224 * 224 * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 13) & 0xff;
  return d;
}

interface Overhead {
  surface: string;
  requests: number;
  overheadP50Ms: number;
  overheadP99Ms: number;
  modelP50Ms: number;
  modelP99Ms: number;
}

function summary(surface: string, rtt: number[], model: number[]): Overhead {
  const over = rtt.map((r, i) => r - model[i]);
  return {
    surface,
    requests: rtt.length,
    overheadP50Ms: pct(over, 50),
    overheadP99Ms: pct(over, 99),
    modelP50Ms: pct(model, 50),
    modelP99Ms: pct(model, 99),
  };
}

async function benchServer(): Promise<Overhead[]> {
  const policy = await PolicyClient.start({
    source: { kind: 'init', preset: 'tiny', seed: 0 },
    threads: THREADS,
  });
  const server = await startServer(policy, { host: '127.0.0.1', port: 0 });
  const out: Overhead[] = [];
  try {
    const img = ndarray(image(), [224, 224, 3]);
    const request = packNumpy({
      'observation/image': img,
      'observation/wrist_image': img,
      'observation/state': ndarray(new Float64Array(8), [8]),
      prompt: 'pick up the cube',
    });
    const dec = new Decoder({
      mapKeyConverter: (k) => (k instanceof Uint8Array ? new TextDecoder().decode(k) : (k as string)),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}`);
    const frames: Buffer[] = [];
    let wake: (() => void) | null = null;
    ws.on('message', (d) => {
      frames.push(d as Buffer);
      wake?.();
    });
    const next = async () => {
      while (!frames.length) await new Promise<void>((r) => (wake = r));
      return frames.shift() as Buffer;
    };
    await new Promise((r) => ws.once('open', r));
    await next(); // metadata
    const rtt: number[] = [];
    const model: number[] = [];
    for (let i = 0; i < N + 10; i++) {
      const t0 = performance.now();
      ws.send(request);
      const reply = dec.decode(await next()) as { policy_timing: { infer_ms: number } };
      const dt = performance.now() - t0;
      if (i >= 10) {
        rtt.push(dt);
        model.push(reply.policy_timing.infer_ms);
      }
      await sleep(Math.max(0, 1000 / 30 - dt));
    }
    ws.close();
    out.push(summary('openpi websocket (2×224² uint8 → 32²)', rtt, model));

    const body = JSON.stringify({
      language_instruction: 'pick up the cube',
      proprio: JSON.stringify(toJsonNumpy(ndarray(new Float32Array(4), [4]))),
      image0: JSON.stringify(toJsonNumpy(img)),
      image1: JSON.stringify(toJsonNumpy(img)),
      domain_id: 0,
      steps: 10,
    });
    const rtt2: number[] = [];
    const model2: number[] = [];
    for (let i = 0; i < N + 10; i++) {
      const t0 = performance.now();
      const r = (await (
        await fetch(`http://127.0.0.1:${server.port}/act`, { method: 'POST', body })
      ).json()) as {
        policy_timing: { infer_ms: number };
      };
      const dt = performance.now() - t0;
      if (i >= 10) {
        rtt2.push(dt);
        model2.push(r.policy_timing.infer_ms);
      }
      await sleep(Math.max(0, 1000 / 30 - dt));
    }
    out.push(summary('X-VLA POST /act (json-numpy, 2×224²)', rtt2, model2));
  } finally {
    await server.close();
    await policy.close();
  }
  return out;
}

async function benchLoop() {
  const policy = await PolicyClient.start({
    source: { kind: 'init', preset: 'small', seed: 0, stateDim: 5, armDim: 5 },
  });
  const robot = await SimRobot.create({ task: 'pick_cube', seed: 0, imageSize: policy.info.imageSize });
  try {
    const loop = new ControlLoop(robot, policy, {
      rateHz: 10,
      prefetch: 1,
      maxDeltaPerStep: 0.25,
      task: robot.task,
      maxSteps: STEPS,
    });
    return await loop.run();
  } finally {
    await robot.close();
    await policy.close();
  }
}

console.log(
  `deploy bench: ${availableParallelism()} cores, server model threads ${THREADS}, ${N} requests per surface at 30/s, ${STEPS} sim steps at 10 Hz`,
);
const overhead = await benchServer();
console.log('\nserver overhead = client round trip − model time (target p99 ≤ 5 ms); peer: model time');
console.log('| surface | overhead p50 ms | overhead p99 ms | model p50 ms | model p99 ms |');
console.log('| --- | --- | --- | --- | --- |');
for (const o of overhead)
  console.log(
    `| ${o.surface} | ${f(o.overheadP50Ms)} | ${f(o.overheadP99Ms)} | ${f(o.modelP50Ms)} | ${f(o.modelP99Ms)} |`,
  );
const loop = await benchLoop();
console.log('\nsim control loop, small policy, target 10 Hz');
console.log(
  `achieved ${f(loop.achievedHz)} Hz over ${loop.steps} steps; missed deadlines ${loop.missedDeadlines}; ` +
    `watchdog holds ${loop.watchdogHolds}; max lateness ${f(loop.maxLateMs)} ms; model ${f(loop.meanInferMs)} ms/chunk (${loop.inferences} chunks)`,
);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ overhead, loop }, null, 2));
