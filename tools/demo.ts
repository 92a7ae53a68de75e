/**
 * The end-to-end demo as far as the toolkit goes today (the engine and the module library). Until the
 * training app lands it trains a small causal transformer to predict action chunks of smooth 2-D
 * end-effector trajectories on the `native` backend, compares it with a constant-velocity baseline,
 * measures the same train step on tfjs's JS backend, and round-trips the weights through safetensors.
 *
 *   bash tools/bootstrap.sh demo            (fresh machine)
 *   node --conditions=@anchor-refine/source --import tsx tools/demo.ts [--steps 300]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { backendInfo, selectBackend } from '@anchor-refine/core-tensors';
import {
  AdamW,
  clipGradNorm,
  cosineWithWarmup,
  gradsByParamName,
  Linear,
  loadSafetensors,
  Module,
  manualSeed,
  noDecayRule,
  Rng,
  saveSafetensors,
  Transformer,
  toTensors,
} from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { SingleBar } from 'cli-progress';

const argv = process.argv.slice(2);
const steps = argv.includes('--steps') ? Number(argv[argv.indexOf('--steps') + 1]) : 300;
const HISTORY = 16; // observed positions per sample
const CHUNK = 8; // predicted future positions (the action chunk)
const BATCH = 64;

/** Smooth random 2-D trajectories: a sum of three sinusoids per axis with random phase/frequency. */
function makeBatch(rng: Rng, n: number): { x: tf.Tensor3D; y: tf.Tensor2D } {
  const T = HISTORY + CHUNK;
  const data = new Float32Array(n * T * 2);
  for (let b = 0; b < n; b++) {
    for (let axis = 0; axis < 2; axis++) {
      const parts = [0, 1, 2].map(() => ({
        amp: 0.3 + rng.uniform() * 0.7,
        freq: 0.05 + rng.uniform() * 0.25,
        phase: rng.uniform() * 2 * Math.PI,
      }));
      for (let t = 0; t < T; t++) {
        let v = 0;
        for (const p of parts) v += p.amp * Math.sin(p.freq * t + p.phase);
        data[(b * T + t) * 2 + axis] = v;
      }
    }
  }
  return tf.tidy(() => {
    const all = tf.tensor3d(data, [n, T, 2]);
    const x = all.slice([0, 0, 0], [n, HISTORY, 2]); // [n, HISTORY, 2]
    const y = all.slice([0, HISTORY, 0], [n, CHUNK, 2]).reshape([n, CHUNK * 2]); // [n, CHUNK*2]
    return { x: x as tf.Tensor3D, y: y as tf.Tensor2D };
  });
}

class ChunkPredictor extends Module {
  readonly embed: Linear;
  readonly trunk: Transformer;
  readonly head: Linear;
  constructor(rng: Rng) {
    super();
    const dim = 64;
    this.embed = this.registerModule('embed', new Linear(2, dim, { rng }));
    this.trunk = this.registerModule(
      'trunk',
      new Transformer({ depth: 2, dim, heads: 4, mode: 'causal', rng }),
    );
    this.head = this.registerModule('head', new Linear(dim, CHUNK * 2, { rng }));
  }
  forward(x: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.trunk.forward(this.embed.forward(x)); // [B, HISTORY, dim]
      const last = h.slice([0, HISTORY - 1, 0], [-1, 1, -1]).squeeze([1]); // [B, dim]
      return this.head.forward(last) as tf.Tensor2D; // [B, CHUNK*2]
    });
  }
}

/** Constant-velocity extrapolation of the last two observed positions: the baseline to beat. */
function constantVelocity(x: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const last = x.slice([0, HISTORY - 1, 0], [-1, 1, -1]); // [B,1,2]
    const vel = last.sub(x.slice([0, HISTORY - 2, 0], [-1, 1, -1])); // [B,1,2]
    const k = tf.range(1, CHUNK + 1).reshape([1, CHUNK, 1]); // [1,CHUNK,1]
    return last.add(vel.mul(k)).reshape([-1, CHUNK * 2]) as tf.Tensor2D;
  });
}

function mse(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.losses.meanSquaredError(a, b).dataSync()[0]);
}

function trainStep(model: ChunkPredictor, opt: AdamW, batch: { x: tf.Tensor3D; y: tf.Tensor2D }, lr: number) {
  const params = model.namedParameters();
  const { value, grads } = tf.variableGrads(
    () => tf.losses.meanSquaredError(batch.y, model.forward(batch.x)) as tf.Scalar,
    params.map(([, v]) => v),
  );
  const named = gradsByParamName(params, grads);
  const clipped = clipGradNorm(named, 1.0);
  opt.step(clipped.grads, lr);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads), ...clipped.grads.values()]);
  return loss;
}

async function main(): Promise<void> {
  const info = await selectBackend('native');
  console.log(
    'AnchorRefine toolkit demo — engine and modules (the full method demo arrives with the training app)',
  );
  console.log(`backend: ${info.backend}, ${JSON.stringify(info.features)}`);

  manualSeed(0);
  const rng = new Rng(0);
  const model = new ChunkPredictor(rng);
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0.01, groups: [noDecayRule()] });
  const schedule = cosineWithWarmup({
    peakLr: 3e-3,
    warmupSteps: Math.min(20, Math.floor(steps / 10)),
    totalSteps: steps,
    minLr: 1e-4,
  });
  const val = makeBatch(new Rng(12345), 512);
  console.log(
    `model: ${model.numParameters().toLocaleString()} parameters, task: ${HISTORY} positions → chunk of ${CHUNK}`,
  );

  const bar = new SingleBar({
    format: 'train [{bar}] {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta}s',
    hideCursor: true,
    // piped output (CI logs): one progress line every 5 s instead of nothing
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  bar.start(steps, 0, { loss: '—', rate: '—' });
  const dataRng = new Rng(1);
  const t0 = performance.now();
  let loss = Number.NaN;
  for (let step = 0; step < steps; step++) {
    const batch = makeBatch(dataRng, BATCH);
    loss = trainStep(model, opt, batch, schedule(step));
    tf.dispose([batch.x, batch.y]);
    const rate = (step + 1) / ((performance.now() - t0) / 1000);
    bar.update(step + 1, { loss: loss.toFixed(4), rate: rate.toFixed(1) });
  }
  bar.stop();
  const nativeStepMs = (performance.now() - t0) / steps;

  const pred = model.forward(val.x);
  const cv = constantVelocity(val.x);
  const modelMse = mse(pred, val.y);
  const cvMse = mse(cv, val.y);
  console.log(`validation MSE: transformer ${modelMse.toFixed(5)} vs constant velocity ${cvMse.toFixed(5)}`);

  // The same train step on tfjs's pure-JS backend, for the speed ratio.
  await selectBackend('cpu');
  const cpuSteps = 3;
  const batch = makeBatch(dataRng, BATCH);
  trainStep(model, opt, batch, 1e-4); // warm-up
  const c0 = performance.now();
  for (let i = 0; i < cpuSteps; i++) trainStep(model, opt, batch, 1e-4);
  const cpuStepMs = (performance.now() - c0) / cpuSteps;
  tf.dispose([batch.x, batch.y]);
  await selectBackend('native');
  console.log(
    `train step (batch ${BATCH}): native ${nativeStepMs.toFixed(1)} ms, tfjs cpu ${cpuStepMs.toFixed(1)} ms → ${(cpuStepMs / nativeStepMs).toFixed(1)}x`,
  );

  // Checkpoint round trip: save, load into a fresh model, identical predictions.
  const dir = join('runs', 'demo');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  const before = model.forward(val.x);
  await saveSafetensors(file, model.stateDict(), { format: 'pt', demo: 'chunk-predictor' });
  const fresh = new ChunkPredictor(new Rng(99));
  const loaded = toTensors((await loadSafetensors(file)).tensors);
  fresh.loadStateDict(loaded);
  const after = fresh.forward(val.x);
  const maxDiff = tf.tidy(() => before.sub(after).abs().max().dataSync()[0]);
  console.log(`checkpoint ${file}: reloaded model max |Δ| = ${maxDiff}`);

  tf.dispose([pred, cv, before, after, val.x, val.y, ...loaded.values()]);
  model.dispose();
  fresh.dispose();
  opt.dispose();
  const ok = modelMse < cvMse && maxDiff === 0;
  console.log(ok ? 'demo: OK' : 'demo: FAILED (model did not beat the baseline or the checkpoint differs)');
  console.log(`backend kernels running natively: ${backendInfo().nativeKernels.join(', ')}`);
  process.exitCode = ok ? 0 : 1;
}

await main();
