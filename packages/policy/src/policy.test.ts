import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeBatchTensors } from './batch.js';
import { loadPolicy, savePolicy } from './checkpoint.js';
import { type DeepPartial, type PolicyConfig, policyConfig } from './config.js';
import { AnchorRefinePolicy } from './policy.js';
import { SyntheticReachTask } from './synthetic.js';
import { trainStep } from './train_step.js';

const task = new SyntheticReachTask({ episodes: 4, imageSize: 32, seed: 5 });
const batchOf = (seed: number) => task.batch(new Rng(seed), 4, 2, 5, [0, 1, 2, 3]);
const make = (over: DeepPartial<PolicyConfig> = {}) =>
  new AnchorRefinePolicy(
    policyConfig('tiny', {
      seed: 2,
      backbone: { config: { stateDim: 6 } },
      ...over,
    } as DeepPartial<PolicyConfig>),
    task.stats,
  );

function snapshot(vars: Array<[string, tf.Variable]>): Map<string, Float32Array> {
  return new Map(vars.map(([n, v]) => [n, Float32Array.from(v.dataSync() as Float32Array)]));
}

function optimizerFor(policy: AnchorRefinePolicy, vars: tf.Variable[]): AdamW {
  return new AdamW(
    policy.namedParameters().filter(([, v]) => vars.includes(v)),
    { lr: 1e-2 },
  );
}

describe('AnchorRefinePolicy phases', () => {
  it('L_2 has exactly zero gradient w.r.t. every anchor parameter (sg), nonzero without it', () => {
    for (const detachAnchor of [true, false]) {
      const policy = make({ refine: { detachAnchor } });
      policy.beginRefinePhase();
      const anchorVars = policy.anchor.parameters();
      for (const v of anchorVars) v.trainable = true;
      const t = policy.toTensors(batchOf(1));
      let maxAbs = Number.NaN;
      tf.tidy(() => {
        // With sg the frozen part runs untaped (noGrad): anchor variables get no gradient at all, which
        // counts as zero; a refiner variable keeps the loss connected so variableGrads can run.
        const refinerVar = policy.refiner!.parameters()[0];
        refinerVar.trainable = true;
        const { grads } = tf.variableGrads(
          () => policy.forward(t, 'refine').loss,
          [...anchorVars, refinerVar],
        );
        expect(grads[refinerVar.name]).toBeDefined();
        const anchorNames = new Set(anchorVars.map((v) => v.name));
        maxAbs = Math.max(
          0,
          ...Object.entries(grads)
            .filter(([n]) => anchorNames.has(n))
            .map(([, g]) => tf.max(tf.abs(g)).dataSync()[0]),
        );
      });
      if (detachAnchor) expect(maxAbs).toBe(0);
      else expect(maxAbs).toBeGreaterThan(0);
      disposeBatchTensors(t);
      policy.dispose();
    }
  });

  it('phase 2 leaves every phase-1 parameter bit-identical; Q_ref starts as Q_anc and diverges', () => {
    const policy = make();
    const vars = policy.setPhase('anchor');
    const opt1 = optimizerFor(policy, vars);
    trainStep(policy, opt1, batchOf(2), 'anchor');
    opt1.dispose();
    policy.beginRefinePhase();
    expect(Array.from(policy.refiner!.queries.dataSync())).toEqual(
      Array.from(policy.anchor.queries.dataSync()),
    );
    const phase1 = policy.namedParameters().filter(([n]) => !n.startsWith('refiner.'));
    const before = snapshot(phase1);
    const refineVars = policy.setPhase('refine');
    expect(refineVars.length).toBe(policy.refiner!.parameters().length);
    const opt2 = optimizerFor(policy, refineVars);
    for (let i = 0; i < 3; i++) trainStep(policy, opt2, batchOf(3 + i), 'refine');
    opt2.dispose();
    const after = snapshot(phase1);
    for (const [n, v] of before) expect(after.get(n), n).toEqual(v);
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(policy.refiner!.queries, policy.anchor.queries))).dataSync()[0],
    );
    expect(diff).toBeGreaterThan(1e-4);
    policy.dispose();
  });

  it('with dropout, phase 2 targets come from the eval-mode anchor: frozen modules run in eval mode', () => {
    const policy = make({ backbone: { config: { stateDim: 6, dropout: 0.3 } } });
    policy.beginRefinePhase();
    const opt = optimizerFor(policy, policy.setPhase('refine'));
    const t = policy.toTensors(batchOf(4));
    const anchorMse = () => tf.tidy(() => policy.forward(t, 'refine').metrics.anchor_arm_mse.dataSync()[0]);
    // the check is sensitive: in training mode dropout makes the anchor noisy
    policy.train();
    expect(anchorMse()).not.toBe(anchorMse());
    policy.eval();
    const inference = anchorMse();
    for (let i = 0; i < 2; i++) {
      const r = trainStep(policy, opt, t, 'refine');
      expect(r.metrics.anchor_arm_mse, `step ${i}`).toBe(inference);
    }
    expect(policy.backbone.training || policy.anchor.training).toBe(false);
    expect(policy.refiner!.namedModules().every(([, m]) => m.training)).toBe(true);
    opt.dispose();
    disposeBatchTensors(t);
    policy.dispose();
  });

  it('phase 1 runs a frozen pretrained encoder in eval mode and the rest in training mode', () => {
    const policy = make({ backbone: { config: { stateDim: 6, vision: { frozen: true } } } });
    const opt = optimizerFor(policy, policy.setPhase('anchor'));
    policy.eval();
    trainStep(policy, opt, batchOf(5), 'anchor');
    expect(policy.backbone.vision.namedModules().some(([, m]) => m.training)).toBe(false);
    expect(policy.backbone.training && policy.anchor.namedModules().every(([, m]) => m.training)).toBe(true);
    opt.dispose();
    policy.dispose();
  });

  it('the refinement pass reads only the context: changing the anchor does not change ΔÂ or δ̂', () => {
    const policy = make();
    const obs = [task.observation(0, 3), task.observation(0, 4)];
    const a = policy.predictActionChunk(obs);
    tf.tidy(() => {
      for (const v of policy.anchor.parameters()) v.assign(tf.add(v, 0.05));
    });
    const b = policy.predictActionChunk(obs);
    expect(b.delta).toEqual(a.delta);
    expect(b.gripperDelta).toEqual(a.gripperDelta);
    expect(b.anchorArm).not.toEqual(a.anchorArm);
    policy.dispose();
  });

  it('composes arm = unnormalize(Â^anc + ΔÂ) and the gripper by Eq. 11', () => {
    const policy = make();
    const c = policy.predictActionChunk(task.observation(1, 0));
    const { mean, std } = task.stats.action;
    for (let k = 0; k < c.horizon; k++) {
      for (let i = 0; i < 3; i++) {
        const anchorNorm = (c.anchorArm[k * 3 + i] - mean[i]) / std[i];
        expect(c.arm[k * 3 + i]).toBeCloseTo((anchorNorm + c.delta[k * 3 + i]) * std[i] + mean[i], 4);
      }
      const p = Math.min(1, Math.max(0, c.anchorGripperProb[k] + c.gripperDelta[k]));
      expect(c.gripperProb[k]).toBeCloseTo(p, 5);
      expect(c.gripper[k]).toBe(c.anchorGripperProb[k] + c.gripperDelta[k] > 0.5 ? 1 : 0);
    }
    policy.dispose();
  });
});

describe("refine.trunkInit: 'anchor'", () => {
  const maxDiff = (a: AnchorRefinePolicy) => {
    const src = new Map(a.anchor.trunk.namedParameters());
    return Math.max(
      ...(a.refiner?.trunk.namedParameters() ?? []).map(([n, v]) =>
        tf.tidy(() => tf.max(tf.abs(tf.sub(v, src.get(n) as tf.Tensor))).dataSync()[0]),
      ),
    );
  };

  it("F_ref's trunk starts as a copy of F_anc's, then trains on its own; the anchor stays as it was", () => {
    const depth = policyConfig('tiny').anchor.depth;
    const policy = make({ refine: { depth, trunkInit: 'anchor' } });
    const opt1 = optimizerFor(policy, policy.setPhase('anchor'));
    trainStep(policy, opt1, batchOf(2), 'anchor');
    opt1.dispose();
    const fresh = make({ refine: { depth } }); // same depth, random trunk: differs from the anchor's
    fresh.beginRefinePhase();
    expect(maxDiff(fresh)).toBeGreaterThan(1e-3);
    fresh.dispose();

    policy.beginRefinePhase();
    expect(maxDiff(policy)).toBe(0);
    const anchorBefore = snapshot(policy.anchor.trunk.namedParameters());
    const opt2 = optimizerFor(policy, policy.setPhase('refine'));
    for (let i = 0; i < 3; i++) trainStep(policy, opt2, batchOf(3 + i), 'refine');
    opt2.dispose();
    expect(maxDiff(policy)).toBeGreaterThan(1e-4); // an independent copy
    for (const [n, v] of snapshot(policy.anchor.trunk.namedParameters()))
      expect(v, n).toEqual(anchorBefore.get(n));
    policy.dispose();
  });

  it('needs refine.depth = anchor.depth and a known value', () => {
    expect(() => policyConfig('tiny', { refine: { depth: 7, trunkInit: 'anchor' } })).toThrow(
      /refine.trunkInit 'anchor' .* refine.depth must equal anchor.depth/,
    );
    expect(() => policyConfig('tiny', { refine: { trunkInit: 'copy' as never } })).toThrow(
      /refine.trunkInit/,
    );
  });
});

describe("refine.padding: 'zero'", () => {
  it('changes L_ref only where a chunk runs past its episode; rejects unknown values', () => {
    const masked = make();
    const zero = make({ refine: { padding: 'zero' } });
    const t = masked.toTensors(batchOf(4));
    const full = { ...t, mask: tf.onesLike(t.mask) };
    const cut = {
      ...t,
      // [B, L, H]: the first 2 chunk steps valid, the rest past the episode's end
      mask: tf.tidy(() => tf.mul(t.mask, tf.less(tf.range(0, t.mask.shape[2] ?? 0), 2))),
    };
    const refineLoss = (p: AnchorRefinePolicy, b: typeof t) =>
      tf.tidy(() => p.forward(b, 'refine').metrics.refine_loss.dataSync()[0]);
    expect(refineLoss(zero, full)).toBeCloseTo(refineLoss(masked, full), 7);
    expect(Math.abs(refineLoss(zero, cut) - refineLoss(masked, cut))).toBeGreaterThan(1e-6);
    tf.dispose([full.mask, cut.mask]);
    disposeBatchTensors(t);
    masked.dispose();
    zero.dispose();
    expect(() => policyConfig('tiny', { refine: { padding: 'pad' as never } })).toThrow(/refine.padding/);
  });
});

describe('ablation variants (spec table)', () => {
  const variants: Array<[string, DeepPartial<PolicyConfig>]> = [
    ['w/o gripper refinement', { refine: { gripper: 'none' } }],
    ['naive gripper MSE', { refine: { gripper: 'naive-mse' } }],
    ['w/o detached anchor', { refine: { detachAnchor: false } }],
    ['explicit anchor concatenation', { refine: { input: 'explicit-anchor-concat' } }],
    ['refine (direct action)', { refine: { target: 'direct' } }],
    [
      "F_ref's own keypoint encoder (refine.vision)",
      { refine: { vision: { keypoints: 4, cell: 4, width: 8 } } },
    ],
  ];
  for (const [name, over] of variants) {
    it(`${name}: trains phase 2 and predicts`, () => {
      const policy = make(over);
      policy.beginRefinePhase();
      const vars = policy.setPhase('refine');
      if (over.refine?.detachAnchor === false)
        expect(vars.length).toBeGreaterThan(policy.refiner!.parameters().length);
      const opt = optimizerFor(policy, vars);
      const t = policy.toTensors(batchOf(7));
      // Eq. 10 with the naive target by hand: masked mean of (δ̂ − (y − σ(λ)))² on the step's batch.
      const naiveByHand = tf.tidy(() => {
        const ctx = policy.backbone.encode(t.obs);
        const a = policy.anchor.forward(ctx);
        const concat = over.refine?.input === 'explicit-anchor-concat' ? a.arm : undefined;
        const dg = policy.refiner!.forward(ctx, concat, t.obs.images).gripperDelta;
        const target = tf.sub(t.gripper, tf.sigmoid(a.gripperLogits));
        const sq = tf.mul(tf.square(tf.sub(dg, target)), t.mask);
        return tf.div(tf.sum(sq), tf.sum(t.mask)).dataSync()[0];
      });
      const r = trainStep(policy, opt, t, 'refine');
      disposeBatchTensors(t);
      expect(Number.isFinite(r.loss)).toBe(true);
      if (over.refine?.gripper === 'none') expect(r.metrics.gripper_loss).toBe(0);
      if (over.refine?.gripper === 'naive-mse') {
        expect(r.metrics.gripper_loss).toBeCloseTo(naiveByHand, 6);
      } else if (over.refine?.gripper === undefined) {
        // the decision-aware target (Eq. 9) is not the naive one: a different loss on the same model
        expect(Math.abs(r.metrics.gripper_loss - naiveByHand)).toBeGreaterThan(1e-4);
      }
      opt.dispose();
      if (over.refine?.input === 'explicit-anchor-concat') {
        // ΔÂ reads the anchor chunk: changing the anchor changes it (the implicit refiner's does not, above)
        const obs = [task.observation(0, 3), task.observation(0, 4)];
        const a = policy.predictActionChunk(obs);
        tf.tidy(() => {
          for (const v of policy.anchor.parameters()) v.assign(tf.add(v, 0.05));
        });
        const b = policy.predictActionChunk(obs);
        expect(b.anchorArm).not.toEqual(a.anchorArm);
        expect(Math.max(...b.delta.map((x, i) => Math.abs(x - a.delta[i])))).toBeGreaterThan(1e-6);
      }
      if (over.refine?.vision) {
        // F_ref's encoder is trained in phase 2 and feeds ΔÂ only: perturbing it moves ΔÂ, not Â^anc.
        const own = policy.namedParameters().filter(([n]) => n.startsWith('refiner.vision.'));
        expect(own.length).toBe(16); // 2 cameras × (cell_in, cell_hidden, to_logits, embed) × (W, b)
        for (const [, v] of own) expect(vars).toContain(v);
        const obs = [task.observation(0, 3), task.observation(0, 4)];
        const a = policy.predictActionChunk(obs);
        tf.tidy(() => {
          for (const v of policy.refiner!.vision!.parameters()) v.assign(tf.add(v, 0.05));
        });
        const b = policy.predictActionChunk(obs);
        expect(b.anchorArm).toEqual(a.anchorArm);
        expect(Math.max(...b.delta.map((x, i) => Math.abs(x - a.delta[i])))).toBeGreaterThan(1e-6);
      }
      const c = policy.predictActionChunk(task.observation(2, 1));
      if (over.refine?.gripper === 'none') {
        expect(Array.from(c.gripper)).toEqual(Array.from(c.anchorGripperProb, (p) => (p >= 0.5 ? 1 : 0)));
      }
      if (over.refine?.target === 'direct') {
        const { mean, std } = task.stats.action;
        expect(c.arm[0]).toBeCloseTo(c.delta[0] * std[0] + mean[0], 4);
      }
      policy.dispose();
    });
  }

  it('phase 1 only, deeper anchor: no refiner, phase refine refused', () => {
    const policy = make({ anchor: { depth: 3 }, refine: { enabled: false } });
    expect(policy.refiner).toBeUndefined();
    expect(policy.anchor.trunk.namedParameters().filter(([n]) => n.endsWith('ln_1.weight')).length).toBe(3);
    expect(() => policy.setPhase('refine')).toThrow(/refine.enabled/);
    const c = policy.predictActionChunk(task.observation(0, 0));
    expect(c.arm).toEqual(c.anchorArm);
    policy.dispose();
  });

  it('rejects bad configs naming the field', () => {
    expect(() => policyConfig('tiny', { refine: { gripper: 'bce' as never } })).toThrow(/refine.gripper/);
    expect(() => policyConfig('tiny', { refine: { margin: 0.7 } })).toThrow(/refine.margin/);
    expect(() => policyConfig('tiny', { execution: { actionsPerChunk: 9 } })).toThrow(/actionsPerChunk/);
  });
});

describe('inference loop and checkpoints', () => {
  it('selectAction predicts a new chunk every actionsPerChunk steps and reset clears it', () => {
    const policy = make({ execution: { actionsPerChunk: 2 } });
    let calls = 0;
    const orig = policy.predictActionChunk.bind(policy);
    policy.predictActionChunk = (o) => {
      calls++;
      return orig(o);
    };
    for (let t = 0; t < 5; t++) expect(policy.selectAction(task.observation(0, t)).length).toBe(4);
    expect(calls).toBe(3);
    policy.reset();
    policy.selectAction(task.observation(1, 0));
    expect(calls).toBe(4);
    policy.dispose();
  });

  it('save → load reproduces predictions; a corrupt file is refused naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-'));
    const policy = make({ refine: { input: 'explicit-anchor-concat' } });
    const ckpt = join(dir, 'ckpt');
    await savePolicy(policy, ckpt);
    await savePolicy(policy, ckpt); // replacing an existing checkpoint
    const loaded = await loadPolicy(ckpt);
    const obs = task.observation(3, 2);
    expect(loaded.predictActionChunk(obs).arm).toEqual(policy.predictActionChunk(obs).arm);
    expect(loaded.config).toEqual(policy.config);
    loaded.dispose();
    await writeFile(join(ckpt, 'model.safetensors'), 'garbage');
    await expect(loadPolicy(ckpt)).rejects.toThrow(/model\.safetensors/);
    await writeFile(join(ckpt, 'config.json'), '{"backbone": {"type": "gr2"}}');
    await expect(loadPolicy(ckpt)).rejects.toThrow(/config\.json.*backbone\.type/);
    policy.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});

describe("GR-1's future-frame objective (config.video)", () => {
  const video = { queries: 2, offset: 3, weight: 0.5, dim: 16, depth: 1, heads: 2 };
  const withFuture = (seed: number) => ({ ...batchOf(seed), futureImages: batchOf(seed + 100).images });

  it('phase-1 loss = L_anc + w·L_video; the action loss is the same with or without [OBS] queries', () => {
    const policy = make({ video });
    const plain = make();
    tf.tidy(() => {
      const a = policy.forward(withFuture(1), 'anchor');
      const b = policy.forward(batchOf(1), 'anchor'); // no future frames: L_anc alone
      const c = plain.forward(batchOf(1), 'anchor'); // the same weights without the video module
      const lv = a.metrics.video_loss?.dataSync()[0] ?? Number.NaN;
      expect(lv).toBeGreaterThan(0);
      expect(b.metrics.video_loss).toBeUndefined();
      expect(a.metrics.arm_loss.dataSync()[0]).toBeCloseTo(b.metrics.arm_loss.dataSync()[0], 6);
      expect(a.loss.dataSync()[0]).toBeCloseTo(b.loss.dataSync()[0] + 0.5 * lv, 5);
      expect(b.loss.dataSync()[0]).toBeCloseTo(c.loss.dataSync()[0], 6);
    });
    policy.dispose();
    plain.dispose();
  });

  it('L_video trains the [OBS] queries, the decoder and the vision encoder; phase 2 leaves it frozen', () => {
    const policy = make({ video });
    const vars = policy.setPhase('anchor');
    expect(policy.video?.parameters().every((v) => vars.includes(v))).toBe(true);
    const t = policy.toTensors(withFuture(2));
    tf.tidy(() => {
      const probe = [
        policy.video!.queries,
        policy.video!.decoder_pred.weight,
        policy.backbone.vision.patch_embed.weight,
      ];
      const { grads } = tf.variableGrads(
        () => policy.forward(t, 'anchor').metrics.video_loss as tf.Scalar,
        probe,
      );
      for (const v of probe) expect(tf.max(tf.abs(grads[v.name])).dataSync()[0]).toBeGreaterThan(0);
    });
    disposeBatchTensors(t);
    const refineVars = policy.setPhase('refine');
    expect(policy.video?.parameters().some((v) => refineVars.includes(v))).toBe(false);
    policy.dispose();
  });

  it('round-trips through a checkpoint; bad configs and future-frame shapes are named', async () => {
    const policy = make({ video });
    const dir = await mkdtemp(join(tmpdir(), 'policy-video-'));
    try {
      await savePolicy(policy, join(dir, 'p'));
      const l = (await loadPolicy(join(dir, 'p'))) as AnchorRefinePolicy;
      expect(l.config.video).toEqual(video);
      expect(Array.from(l.video!.queries.dataSync())).toEqual(Array.from(policy.video!.queries.dataSync()));
      l.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const b = batchOf(3);
    const bad = {
      ...b,
      futureImages: { ...b.images, front: { ...b.images.front, shape: [4, 2, 16, 16, 3] } },
    };
    expect(() => policy.toTensors(bad as typeof b)).toThrow(/futureImages\.front/);
    policy.dispose();
    expect(() => make({ video: { ...video, queries: 0 } })).toThrow(/video\.queries/);
  });
});
