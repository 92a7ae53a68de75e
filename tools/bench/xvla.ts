/**
 * X-VLA benchmark (issue 7 target), every number next to a peer from the same run:
 *
 *   node --conditions=@anchor-refine/source --import tsx tools/bench/xvla.ts [--quick] [--json out.json]
 *
 * `small` X-VLA AnchorRefine policy (2 cameras 96×96, chunk 30 × 20-D EE6D, d 128, 4 blocks; refiner
 * depth 1), one observation, native backend:
 *   - one denoising step (transformer pass with the step-invariant conditioning hoisted), and the VL encode
 *   - full chunk latency (VL encode + 10 denoising steps + refinement pass) vs the anchor-only policy
 *     → the refinement overhead (target ≤ 15 %)
 */
import { writeFileSync } from 'node:fs';
import { EE6D_DIM } from '@anchor-refine/backbones';
import { backendInfo, selectBackend } from '@anchor-refine/core-tensors';
import { Rng } from '@anchor-refine/nn';
import { SyntheticReachTask, XvlaAnchorRefinePolicy, xvlaPolicyConfig } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { percentiles } from './percentiles.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const reps = quick ? 5 : 30;

function time(fn: () => void, n: number): { p50: number; p99: number; n: number } {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return percentiles(times);
}

async function main(): Promise<void> {
  await selectBackend('native');
  console.log(`backend: ${JSON.stringify(backendInfo())}`);
  const task = new SyntheticReachTask({ episodes: 2, imageSize: 96, seed: 1 });
  const make = (refine: boolean) =>
    new XvlaAnchorRefinePolicy(
      xvlaPolicyConfig('small', {
        armDim: 3,
        stateDim: task.stateDim,
        overrides: { refine: { enabled: refine } },
      }),
      task.stats,
    );
  const full = make(true);
  const anchorOnly = make(false);
  full.beginRefinePhase();
  const obs = task.observation(0, 3);
  const cfg = full.model.config;
  const h = cfg.horizon;

  // One denoising step: a transformer pass on fixed conditioning (what the 10-step loop repeats).
  const inputs = tf.tidy(() => {
    const s = 96;
    return {
      images: tf.tensor(new Rng(1).fillUniform(2 * s * s * 3), [1, 2, s, s, 3]),
      viewMask: tf.ones([1, 2], 'bool'),
      ids: full.model.tokenize(['reach the red target and grasp']),
      proprio: tf.zeros([1, EE6D_DIM]),
      domain: tf.tensor1d([0], 'int32'),
    };
  });
  const cond = full.model.condition(inputs);
  const xt = tf.randomNormal([1, h, EE6D_DIM], 0, 1, 'float32', 1);
  const t = tf.tensor1d([0.5]);
  const step = time(
    () =>
      tf.dispose(
        tf.tidy(() => full.model.transformer.forward(xt, inputs.proprio, t, cond, inputs.domain).out),
      ),
    reps * 3,
  );
  const encode = time(
    () =>
      tf.dispose(
        tf.tidy(() => Object.values(full.model.vlm.encode(inputs.images, inputs.viewMask, inputs.ids))),
      ),
    reps,
  );
  // The refinement pass as predictActionChunk runs it: on the VL features the anchor already computed.
  const feats = full.model.vlm.encode(inputs.images, inputs.viewMask, inputs.ids);
  const refinePass = time(
    () => tf.dispose(tf.tidy(() => Object.values(full.refine(inputs, feats)))),
    reps * 3,
  );
  tf.dispose([xt, t, cond.tokens, cond.prompts, feats.vlm, feats.aux, ...Object.values(inputs)]);

  // Chunks: the two policies alternate rep by rep, so load drift on a shared machine hits both alike.
  full.predictActionChunk(obs);
  anchorOnly.predictActionChunk(obs);
  const fullTimes: number[] = [];
  const anchorTimes: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    full.predictActionChunk(obs);
    fullTimes.push(performance.now() - t0);
    t0 = performance.now();
    anchorOnly.predictActionChunk(obs);
    anchorTimes.push(performance.now() - t0);
  }
  const chunkFull = percentiles(fullTimes);
  const chunkAnchor = percentiles(anchorTimes);
  const overhead = chunkFull.p50 / chunkAnchor.p50 - 1;
  const fmt = (x: { p50: number; p99: number }) =>
    `${x.p50.toFixed(2).padStart(8)} ${x.p99.toFixed(2).padStart(8)}`;
  console.log(
    `\n## small X-VLA (2×96×96 views, chunk ${h}×20, d ${cfg.dim}, depth ${cfg.depth}, ${cfg.steps} steps, refiner depth ${full.config.refine.depth})`,
  );
  console.log('what                                  p50 ms   p99 ms');
  console.log(`denoising step (transformer pass)     ${fmt(step)}`);
  console.log(`VL encode (ViT ×2 + joint encoder)    ${fmt(encode)}`);
  console.log(`refinement pass (features shared)     ${fmt(refinePass)}`);
  console.log(`chunk, anchor only (encode + 10 steps)${fmt(chunkAnchor)}`);
  console.log(`chunk, anchor + refine                ${fmt(chunkFull)}`);
  console.log(`refinement overhead on chunk p50: ${(100 * overhead).toFixed(1)} % (target ≤ 15 %)`);
  // The same overhead from the isolated pass (less sensitive to load on a shared machine).
  const passShare = refinePass.p50 / chunkAnchor.p50;
  console.log(`refinement pass p50 / anchor-only chunk p50: ${(100 * passShare).toFixed(1)} %`);
  const results = {
    step,
    encode,
    refinePass,
    chunkAnchor,
    chunkFull,
    overheadPct: 100 * overhead,
    passSharePct: 100 * passShare,
  };
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  full.dispose();
  anchorOnly.dispose();
}

await main();
