/**
 * One training phase: AdamW over the phase's trainable variables with linear warmup + cosine decay,
 * global-norm clipping, deterministic data order (batch i of step s is a pure function of seed and s, so
 * a resumed run sees exactly the batches an uninterrupted one would), checkpoints every N steps with
 * keep-last-k, `--resume` from the newest checkpoint, metrics to JSONL and TensorBoard, periodic
 * validation and optional closed-loop evaluation. The phase's result is `<outDir>/<phase>/final/`.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '@anchor-refine/core-tensors';
import type { Sampler } from '@anchor-refine/datasets';
import { AdamW, cosineWithWarmup, Ema, noDecayRule } from '@anchor-refine/nn';
import {
  type AnyPolicy,
  type AnyPolicyConfig,
  createPolicy,
  isXvlaConfig,
  loadPolicy,
  type PolicyBatch,
  policyConfig,
  savePolicy,
  trainStep,
  xvlaPolicyConfig,
} from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, dropState } from './augment.js';
import {
  listCheckpoints,
  loadCheckpointPolicy,
  loadEma,
  loadOptimizer,
  removeStaleTemps,
  saveCheckpoint,
} from './checkpoint.js';
import type { PhaseName, TrainConfig } from './config.js';
import { ARM_DIM, openSampler, policyStatsFromDataset } from './data.js';
import type { DistTrain } from './distributed.js';
import { evalClosedLoop } from './eval-closed-loop.js';
import { MetricsLog } from './metrics.js';
import { progressBar } from './progress.js';
import { EventWriter } from './tensorboard.js';

export interface TrainOptions {
  /** Continue from the newest checkpoint of this phase. */
  resume?: boolean;
  /**
   * Policy folder this phase starts from. Refine: the phase-1 policy (default `<outDir>/anchor/final`).
   * Anchor: a pretrained policy to fine-tune (default: fresh weights), e.g. phase 1 continued on new demos.
   */
  init?: string;
  progress?: boolean;
  log?: (msg: string) => void;
  /** Closed-loop evaluation hook (called every `evalEvery` steps with a saved policy folder). */
  closedLoop?: (policyDir: string, step: number) => Promise<Record<string, number>>;
  /** Data-parallel rank (distributed.ts): shards each global batch; only rank 0 writes files. */
  dist?: DistTrain;
}

export interface PhaseResult {
  phase: PhaseName;
  steps: number;
  startStep: number;
  finalDir: string;
  lastLoss: number;
  stepsPerSecond: number;
  wallMs: number;
}

export const phaseDir = (cfg: TrainConfig, phase: PhaseName) => join(cfg.outDir, phase);

/**
 * X-VLA's loss weights are set for raw EE6D units (position ×500 because metres are small, rotation ×10
 * for unit-scale 6D entries). The sim's arm channels are normalized joint angles, all unit-scale like the
 * 6D entries, so every arm channel gets the rotation weight.
 */
const XVLA_JOINT_SPACE_LOSS = { position: 10, rotation: 10, gripper: 1 };

/** The run's policy config: the preset, sized for the sim's 5-joint arm, then the config's overrides. */
export function buildPolicyConfig(cfg: TrainConfig): AnyPolicyConfig {
  const p = cfg.policy;
  if (p.backbone === 'xvla') {
    const o = p.overrides;
    if ((o as Record<string, unknown>).video !== undefined)
      throw new Error(
        "train config: policy.overrides.video (GR-1's future-frame objective) needs policy.backbone 'gr1'; X-VLA has no [OBS] queries",
      );
    return xvlaPolicyConfig(p.preset, {
      armDim: ARM_DIM,
      stateDim: ARM_DIM,
      overrides: {
        ...o,
        backbone: {
          ...(o.backbone ?? {}),
          config: { loss: XVLA_JOINT_SPACE_LOSS, ...(o.backbone?.config ?? {}) },
        },
      },
    });
  }
  const o = p.overrides;
  const bb = o.backbone?.config ?? {};
  return policyConfig(p.preset, {
    ...o,
    backbone: { ...(o.backbone ?? {}), config: { stateDim: ARM_DIM, armDim: ARM_DIM, ...bb } },
  });
}

/**
 * A phase's start from a policy folder: the configured model with the folder's backbone + anchor weights
 * and normalization (the stats are part of the model: the phase may train on another dataset).
 * Refine (phase 2): Q_ref ← Q_anc and the refiner starts fresh. Anchor (phase 1 fine-tuned from a
 * pretrained policy): the refiner is not trained in this phase and is dropped. Only the refiner may
 * be missing: a policy that lacks any other weight of the configured model (e.g. fewer anchor layers)
 * or holds weights it does not have is refused, naming the keys.
 */
async function startFrom(cfg: TrainConfig, init: string, phase: PhaseName): Promise<AnyPolicy> {
  if (!existsSync(init))
    throw new Error(
      phase === 'refine'
        ? `train --phase refine: no phase-1 policy at ${init}; run 'train --phase anchor' first or pass --init`
        : `train --phase anchor: no policy at --init ${init}`,
    );
  const src = await loadPolicy(init);
  const pcfg = buildPolicyConfig(cfg);
  if (src.config.backbone.type !== pcfg.backbone.type) {
    src.dispose();
    throw new Error(
      `train --phase ${phase}: the policy at ${init} has backbone '${src.config.backbone.type}' but the config says '${pcfg.backbone.type}' (policy.backbone)`,
    );
  }
  const policy = createPolicy(pcfg, src.normalizationStats);
  const isRefiner = (k: string) => k.startsWith('refiner.');
  const weights = new Map([...src.stateDict()].filter(([k]) => !isRefiner(k)));
  const own = new Set(policy.stateDict().keys());
  const missing = [...own].filter((k) => !isRefiner(k) && !weights.has(k));
  const unexpected = [...weights.keys()].filter((k) => !own.has(k));
  try {
    if (missing.length > 0 || unexpected.length > 0) {
      const list = (what: string, keys: string[]) =>
        keys.length > 0
          ? [`${what} (${keys.length}): ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`]
          : [];
      throw new Error(
        `train --phase ${phase}: the policy at ${init} does not fit the configured model (only the refiner may start fresh; check policy.overrides against the phase-1 config, e.g. anchor.depth):\n  ${[
          ...list('missing key(s)', missing),
          ...list('unexpected key(s)', unexpected),
        ].join('\n  ')}`,
      );
    }
    policy.loadStateDict(weights, { strict: false });
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    tf.dispose([...weights.values()]);
    src.dispose();
  }
  if (phase === 'refine') policy.beginRefinePhase();
  return policy;
}

function validationMetrics(policy: AnyPolicy, sampler: Sampler, phase: PhaseName, n: number) {
  return async (): Promise<Record<string, number> | undefined> => {
    const batches = sampler.epochBatches('val', 0, false).slice(0, n);
    if (batches.length === 0) return undefined;
    const sums: Record<string, number> = {};
    policy.eval();
    for (const idx of batches) {
      const batch = (await sampler.batch(idx)) as PolicyBatch;
      const out = policy.forward(batch, phase);
      sums.loss = (sums.loss ?? 0) + out.loss.dataSync()[0];
      for (const [k, v] of Object.entries(out.metrics)) sums[k] = (sums[k] ?? 0) + v.dataSync()[0];
      tf.dispose([out.loss, ...Object.values(out.metrics)]);
    }
    policy.train();
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [`val_${k}`, v / batches.length]));
  };
}

/** Periodic closed-loop check: success per task of this phase's own output (anchor or composed). */
function defaultClosedLoop(cfg: TrainConfig, phase: PhaseName) {
  return async (policyDir: string): Promise<Record<string, number>> => {
    const mode = phase === 'anchor' ? 'anchor' : 'refine';
    const r = await evalClosedLoop({ checkpoint: policyDir, modes: [mode], episodes: cfg.evalEpisodes });
    const tasks = r.results[mode]?.tasks ?? [];
    const out: Record<string, number> = {};
    for (const t of tasks) out[`success_${t.task}`] = t.successRate;
    out.success_avg = tasks.reduce((a, t) => a + t.successRate, 0) / Math.max(1, tasks.length);
    return out;
  };
}

export async function trainPhase(
  cfg: TrainConfig,
  phase: PhaseName,
  opts: TrainOptions = {},
): Promise<PhaseResult> {
  await selectBackend('native');
  const log = opts.log ?? ((m: string) => console.log(m));
  const pc = cfg[phase];
  const dir = phaseDir(cfg, phase);
  const dist = opts.dist;
  const root = !dist || dist.isRoot; // the rank that reads checkpoints and writes every file
  const pcfg = buildPolicyConfig(cfg);
  if (phase === 'refine' && !pcfg.refine.enabled)
    throw new Error(
      'train --phase refine: policy.overrides.refine.enabled is false (an anchor-only model); nothing to train',
    );
  const dataset = phase === 'refine' && cfg.refineDataset ? cfg.refineDataset : cfg.dataset;
  const sampler = await openSampler(dataset, pcfg, {
    seed: cfg.seed,
    batchSize: pc.batchSize,
    valFraction: cfg.valFraction,
    oversampleStart: cfg.oversampleStart,
    oversampleSwitches: cfg.oversampleSwitches,
    balanceTasks: pc.balanceTasks,
    // GR-1's future-frame objective trains with phase 1 only.
    futureOffset: phase === 'anchor' && !isXvlaConfig(pcfg) ? pcfg.video?.offset : undefined,
  });
  dist?.checkBatch(pc.batchSize, phase);
  const perEpoch = sampler.epochBatches('train', 0).length;
  if (perEpoch === 0)
    throw new Error(
      `train: the training split has fewer frames than batchSize ${pc.batchSize}; collect more episodes or lower ${phase}.batchSize`,
    );

  const existing = root ? await listCheckpoints(dir) : [];
  let policy: AnyPolicy;
  let startStep = 0;
  let resumeFrom: string | undefined;
  if (opts.resume && existing.length > 0) {
    resumeFrom = existing[existing.length - 1].dir;
    const loaded = await loadCheckpointPolicy(resumeFrom); // verifies checksums; corrupt → CheckpointError
    policy = loaded.policy;
    startStep = loaded.state.step;
    await removeStaleTemps(dir);
    log(`${phase}: resuming from ${resumeFrom} (step ${startStep})`);
  } else {
    if (existing.length > 0)
      throw new Error(
        `train: ${dir} already has checkpoints (newest ${existing[existing.length - 1].dir}); pass --resume to continue, or choose another outDir`,
      );
    if (opts.resume && root)
      log(`${phase}: --resume given but no checkpoint in ${dir}; starting from step 0`);
    if (root) await removeStaleTemps(dir);
    // Other ranks get rank 0's weights in dist.syncStart. In phase 2 they still start from the phase-1
    // folder, whose normalization is the model's: phase 2 may train on another dataset than phase 1.
    policy =
      phase === 'anchor' && opts.init === undefined
        ? createPolicy(pcfg, policyStatsFromDataset(sampler.dataset))
        : await startFrom(cfg, opts.init ?? join(phaseDir(cfg, 'anchor'), 'final'), phase);
  }

  const vars = policy.setPhase(phase);
  const named = policy.namedParameters().filter(([, v]) => vars.includes(v));
  const opt = new AdamW(named, { lr: pc.lr, weightDecay: pc.weightDecay, groups: [noDecayRule()] });
  if (resumeFrom) await loadOptimizer(resumeFrom, opt);
  if (dist) startStep = await dist.syncStart(policy, opt, startStep);
  // Every rank holds the same weights after a step, so only the writing rank keeps the average.
  const ema = root && cfg.emaDecay > 0 ? new Ema(named, { decay: cfg.emaDecay }) : undefined;
  if (ema && resumeFrom)
    await loadEma(resumeFrom, ema).catch((err: unknown) => {
      ema.dispose();
      opt.dispose();
      policy.dispose();
      throw err;
    });
  const schedule = cosineWithWarmup({
    peakLr: pc.lr,
    warmupSteps: Math.min(pc.warmupSteps, Math.max(0, pc.steps - 1)),
    totalSteps: Math.max(1, pc.steps),
    minLr: pc.minLr,
  });
  const metrics = root ? new MetricsLog(join(dir, 'metrics.jsonl')) : undefined;
  metrics?.startAt(startStep);
  const events = root ? new EventWriter(join(dir, 'tensorboard')) : undefined;
  if (resumeFrom) events?.sessionStart(startStep + 1); // TensorBoard drops the killed run's later steps
  const validate = validationMetrics(policy, sampler, phase, cfg.valBatches);
  const epochOffset = phase === 'anchor' ? 0 : 1_000_000; // a different shuffle stream per phase
  const bar = progressBar(phase, pc.steps, startStep, root && (opts.progress ?? true));
  const t0 = performance.now();
  let lastLoss = Number.NaN;
  let windowStart = performance.now();
  let windowSteps = 0;
  let rate = 0;
  try {
    for (let step = startStep; step < pc.steps; step++) {
      const epoch = Math.floor(step / perEpoch);
      const global = sampler.epochBatches('train', epochOffset + epoch)[step % perEpoch];
      // Augmentation seed: a pure function of run seed, phase and step (resume sees the same batches);
      // each sample's shift also depends on its frame only, so a rank's shard shifts it the same way.
      const augSeed = (cfg.seed * 1_000_003 + epochOffset + step) >>> 0;
      const shifted = augmentBatch(
        await sampler.batch(dist ? dist.shard(global) : global),
        { pad: cfg.augmentShift },
        augSeed,
      );
      const batch = (
        phase === 'anchor' ? dropState(shifted, cfg.stateDropout, augSeed) : shifted
      ) as PolicyBatch;
      const lr = schedule(step);
      const r = dist
        ? await dist.step(policy, opt, batch, phase, { clipNorm: cfg.clipNorm, lr })
        : trainStep(policy, opt, batch, phase, { clipNorm: cfg.clipNorm, lr });
      if (!Number.isFinite(r.loss))
        throw new Error(`${phase}: loss became ${r.loss} at step ${step + 1}; lower ${phase}.lr`);
      ema?.update();
      lastLoss = r.loss;
      const done = step + 1;
      windowSteps++;
      const now = performance.now();
      if (now - windowStart > 2000 || done === pc.steps) {
        rate = windowSteps / ((now - windowStart) / 1000);
        windowStart = now;
        windowSteps = 0;
      }
      bar.update(done, { loss: r.loss.toFixed(4), rate: rate ? rate.toFixed(2) : '—' });
      if (done % cfg.logEvery === 0 || done === pc.steps) {
        const vals = { loss: r.loss, grad_norm: r.gradNorm, lr, ...r.metrics };
        metrics?.write({ phase, kind: 'train', step: done, ...vals, steps_per_s: rate, time: Date.now() });
        events?.scalars(
          done,
          Object.fromEntries(Object.entries(vals).map(([k, v]) => [`${phase}/train/${k}`, v])),
        );
      }
      if (root && ((cfg.validateEvery > 0 && done % cfg.validateEvery === 0) || done === pc.steps)) {
        const v = await validate();
        if (v) {
          metrics?.write({ phase, kind: 'val', step: done, ...v });
          events?.scalars(done, Object.fromEntries(Object.entries(v).map(([k, x]) => [`${phase}/${k}`, x])));
        }
      }
      if (root && cfg.evalEvery > 0 && done % cfg.evalEvery === 0) {
        const evalDir = join(dir, 'eval-policy');
        await savePolicy(policy, evalDir);
        const s = await (opts.closedLoop ?? defaultClosedLoop(cfg, phase))(evalDir, done);
        metrics?.write({ phase, kind: 'eval', step: done, ...s });
        events?.scalars(
          done,
          Object.fromEntries(Object.entries(s).map(([k, x]) => [`${phase}/eval/${k}`, x])),
        );
      }
      if (root && (done % cfg.checkpointEvery === 0 || done === pc.steps))
        await saveCheckpoint(dir, policy, opt, { phase, step: done, time: Date.now() }, cfg.keepLast, ema);
    }
    bar.stop();
    await dist?.finish(policy);
    const finalDir = join(dir, 'final');
    if (ema) {
      // The final policy is the average; its validation is logged at the same step, marked ema.
      ema.copyToParams();
      const v = await validate();
      if (v) metrics?.write({ phase, kind: 'val', step: pc.steps, ema: 1, ...v });
    }
    if (root) await savePolicy(policy, finalDir, { metadata: { phase, step: String(pc.steps) } });
    if (root) await rm(join(dir, 'eval-policy'), { recursive: true, force: true });
    const wallMs = performance.now() - t0;
    const result: PhaseResult = {
      phase,
      steps: pc.steps,
      startStep,
      finalDir,
      lastLoss,
      stepsPerSecond: (pc.steps - startStep) / Math.max(1e-9, wallMs / 1000),
      wallMs,
    };
    if (root) await writeFile(join(dir, 'summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    bar.stop();
    ema?.dispose();
    opt.dispose();
    policy.dispose();
  }
}
