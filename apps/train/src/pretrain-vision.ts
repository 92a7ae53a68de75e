/**
 * `anchor-refine pretrain-vision`: MAE pretraining of the GR-1 ViT on a dataset's own frames (every camera,
 * shift-augmented as phase 1 sees them), the offline analogue of GR-1's MAE-pretrained encoder. The result is
 * a policy folder with the pretrained ViT and fresh everything else, the dataset's normalization, which
 * `train --phase anchor --init DIR` then fine-tunes.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MAE, type Gr1Backbone, type MaeConfig, MaeDecoder } from '@anchor-refine/backbones';
import { selectBackend } from '@anchor-refine/core-tensors';
import { AdamW, cosineWithWarmup, gradientStep, noDecayRule, Rng } from '@anchor-refine/nn';
import {
  type AnchorRefinePolicy,
  createPolicy,
  imagesToFloat,
  isXvlaConfig,
  savePolicy,
} from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { augmentBatch } from './augment.js';
import type { TrainConfig } from './config.js';
import { openSampler, policyStatsFromDataset } from './data.js';
import type { MetricLine } from './metrics.js';
import { progressBar } from './progress.js';
import { buildPolicyConfig } from './train.js';

export interface PretrainVisionOptions {
  /** Policy folder to write (created; refused when it already holds a policy). */
  out: string;
  steps: number;
  /** Frames per step (each brings every camera's image); default the config's anchor.batchSize. */
  batchSize?: number;
  /** Peak AdamW learning rate (MAE: 1.5e-4 · batch/256 with batch 4096; small here: few steps). */
  lr?: number;
  mae?: Partial<MaeConfig>;
  progress?: boolean;
  log?: (msg: string) => void;
}

export interface PretrainVisionResult {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  /** MAE loss on validation frames under fixed masks, before and after. */
  valBefore: number;
  valAfter: number;
  stepsPerSecond: number;
  dir: string;
}

/** Every camera's [B, L, S, S, 3] frames of a batch as one [B·L·V, S, S, 3] float tensor in [0, 1]. */
function batchImages(
  images: Record<string, { data: Uint8Array | Float32Array; shape: number[] }>,
): tf.Tensor4D {
  const cams = Object.values(images);
  const [b, l, s, , c] = cams[0].shape;
  const per = b * l * s * s * c;
  const all = new Float32Array(per * cams.length);
  cams.forEach((img, i) => {
    all.set(imagesToFloat(img.data), i * per);
  });
  return tf.tensor4d(all, [b * l * cams.length, s, s, c]);
}

export async function pretrainVision(
  cfg: TrainConfig,
  opts: PretrainVisionOptions,
): Promise<PretrainVisionResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  if (!(Number.isInteger(opts.steps) && opts.steps > 0))
    throw new Error(`pretrain-vision: --steps must be a positive integer, got ${opts.steps}`);
  if (existsSync(join(opts.out, 'config.json')))
    throw new Error(`pretrain-vision: ${opts.out} already holds a policy; choose another --out`);
  await selectBackend('native');
  const pcfg = buildPolicyConfig(cfg);
  if (isXvlaConfig(pcfg))
    throw new Error(
      "pretrain-vision: policy.backbone is 'xvla'; MAE pretraining is for GR-1's ViT (backbone 'gr1')",
    );
  const batchSize = opts.batchSize ?? cfg.anchor.batchSize;
  const sampler = await openSampler(cfg.dataset, pcfg, {
    seed: cfg.seed,
    batchSize,
    valFraction: cfg.valFraction,
  });
  const policy = createPolicy(pcfg, policyStatsFromDataset(sampler.dataset)) as AnchorRefinePolicy;
  const vit = (policy.backbone as Gr1Backbone).vision;
  const maeCfg: MaeConfig = { ...DEFAULT_MAE, ...opts.mae };
  const seed = pcfg.seed ?? 0;
  const decoder = new MaeDecoder(maeCfg, vit, new Rng(seed + 101));
  const named = [
    ...vit.namedParameters().map(([k, v]) => [`vision.${k}`, v] as [string, tf.Variable]),
    ...decoder.namedParameters().map(([k, v]) => [`mae.${k}`, v] as [string, tf.Variable]),
  ];
  const lr = opts.lr ?? 1e-3;
  const opt = new AdamW(named, { lr, weightDecay: 0.05, groups: [noDecayRule()] }); // MAE: weight decay 0.05
  const schedule = cosineWithWarmup({
    peakLr: lr,
    warmupSteps: Math.min(100, Math.max(0, opts.steps - 1)),
    totalSteps: opts.steps,
    minLr: lr / 100,
  });
  const lines: MetricLine[] = []; // written into the policy folder once it exists (savePolicy is atomic)
  const valBatches = sampler.epochBatches('val', 0, false).slice(0, 4);
  const valLoss = async (): Promise<number> => {
    if (valBatches.length === 0) return Number.NaN;
    vit.eval();
    decoder.eval();
    const rng = new Rng(seed + 7); // the same masks every time
    let sum = 0;
    for (const idx of valBatches) {
      const imgs = batchImages((await sampler.batch(idx)).images);
      const l = tf.tidy(() => decoder.loss(imgs, rng));
      sum += l.dataSync()[0];
      tf.dispose([l, imgs]);
    }
    return sum / valBatches.length;
  };
  const valBefore = await valLoss();
  const bar = progressBar('pretrain-vision', opts.steps, 0, opts.progress ?? true);
  const rng = new Rng(seed + 11);
  const perEpoch = sampler.epochBatches('train', 0).length;
  if (perEpoch === 0)
    throw new Error(`pretrain-vision: ${cfg.dataset} has no training batch of ${batchSize} frames`);
  let first = Number.NaN;
  let last = Number.NaN;
  const t0 = performance.now();
  vit.train(); // valLoss, the only eval-mode pass, runs before and after the loop
  decoder.train();
  try {
    for (let step = 0; step < opts.steps; step++) {
      const epoch = Math.floor(step / perEpoch);
      const idx = sampler.epochBatches('train', 2_000_000 + epoch)[step % perEpoch]; // its own shuffle stream
      const batch = augmentBatch(
        await sampler.batch(idx),
        { pad: cfg.augmentShift },
        (cfg.seed * 7919 + step) >>> 0,
      );
      const imgs = batchImages(batch.images);
      last = gradientStep(() => decoder.loss(imgs, rng), named, opt, {
        clipNorm: cfg.clipNorm,
        lr: schedule(step),
      }).loss;
      if (step === 0) first = last;
      imgs.dispose();
      if (!Number.isFinite(last))
        throw new Error(`pretrain-vision: loss became ${last} at step ${step + 1}; lower --lr`);
      bar.update(step + 1, {
        loss: last.toFixed(4),
        rate: (((step + 1) * 1000) / (performance.now() - t0)).toFixed(2),
      });
      if ((step + 1) % cfg.logEvery === 0 || step + 1 === opts.steps)
        lines.push({ phase: 'pretrain-vision', kind: 'train', step: step + 1, loss: last, time: Date.now() });
    }
  } finally {
    bar.stop();
  }
  const stepsPerSecond = opts.steps / ((performance.now() - t0) / 1000);
  const valAfter = await valLoss();
  lines.push({ phase: 'pretrain-vision', kind: 'val', step: opts.steps, loss: valAfter, time: Date.now() });
  await savePolicy(policy, opts.out, {
    metadata: { pretrainedVision: 'mae', steps: String(opts.steps), maskRatio: String(maeCfg.maskRatio) },
  });
  const summary = {
    steps: opts.steps,
    batchSize,
    lr,
    mae: maeCfg,
    valBefore,
    valAfter,
    firstLoss: first,
    lastLoss: last,
    stepsPerSecond,
  };
  await writeFile(
    join(opts.out, 'pretrain-metrics.jsonl'),
    lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
  );
  await writeFile(join(opts.out, 'pretrain-vision.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(
    `pretrain-vision: ${opts.steps} steps, loss ${first.toFixed(4)} → ${last.toFixed(4)}, val ${valBefore.toFixed(4)} → ${valAfter.toFixed(4)}, ${stepsPerSecond.toFixed(2)} steps/s → ${opts.out}`,
  );
  opt.dispose();
  decoder.dispose();
  policy.dispose();
  return {
    steps: opts.steps,
    firstLoss: first,
    lastLoss: last,
    valBefore,
    valAfter,
    stepsPerSecond,
    dir: opts.out,
  };
}
