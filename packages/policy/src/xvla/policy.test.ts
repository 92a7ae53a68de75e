import { AdamW, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeBatchTensors } from '../batch.js';
import { SyntheticReachTask } from '../synthetic.js';
import { xvlaPolicyConfig } from './config.js';
import { XvlaAnchorRefinePolicy } from './policy.js';
import { trainPolicyStep } from './train_step.js';

const task = new SyntheticReachTask({ episodes: 6, imageSize: 32, seed: 1 });
const eps = [0, 1, 2, 3, 4, 5];
const make = (over = {}) =>
  new XvlaAnchorRefinePolicy(
    xvlaPolicyConfig('tiny', {
      armDim: 3,
      stateDim: task.stateDim,
      overrides: { seed: 2, anchor: { steps: 3 }, ...over },
    }),
    task.stats,
  );
const batch = (seed: number, n = 4) => task.batch(new Rng(seed), n, 1, 5, eps);

describe('XvlaAnchorRefinePolicy', () => {
  it('anchor phase trains the denoiser; refine phase only the refiner', () => {
    const p = make();
    const a = p.setPhase('anchor');
    expect(a.length).toBe(p.model.parameters().length);
    const r = p.setPhase('refine');
    expect(new Set(r)).toEqual(new Set(p.refiner!.parameters()));
    const opt = new AdamW(
      p.namedParameters().filter(([, v]) => r.includes(v)),
      { lr: 1e-3 },
    );
    const before = p.model.transformer.blocks.at(0).attn.qkv.weight.dataSync().slice();
    const res = trainPolicyStep(p, opt, batch(1), 'refine');
    expect(Number.isFinite(res.loss)).toBe(true);
    expect(Array.from(p.model.transformer.blocks.at(0).attn.qkv.weight.dataSync())).toEqual(
      Array.from(before),
    );
    opt.dispose();
    p.dispose();
  });

  it('with dropout, the anchor of phase-2 steps is deterministic (fixed steps, seed, eval mode) and gets zero gradient from the refine loss', () => {
    const p = make({ backbone: { config: { dropout: 0.3 } } });
    const t = p.toTensors(batch(3));
    const anchorMse = () => tf.tidy(() => p.forward(t, 'refine').metrics.anchor_arm_mse.dataSync()[0]);
    // the check is sensitive: in training mode dropout makes the anchor noisy
    p.train();
    expect(anchorMse()).not.toBe(anchorMse());
    p.eval();
    const inference = anchorMse();
    const vars = p.setPhase('refine');
    const opt = new AdamW(
      p.namedParameters().filter(([, v]) => vars.includes(v)),
      { lr: 1e-3 },
    );
    for (let i = 0; i < 2; i++)
      expect(trainPolicyStep(p, opt, t, 'refine').metrics.anchor_arm_mse, `step ${i}`).toBe(inference);
    expect(p.model.namedModules().some(([, m]) => m.training)).toBe(false);
    expect(p.refiner!.training).toBe(true);
    opt.dispose();
    // every variable trainable, so only the stop-gradient can keep the anchor's grads at zero
    p.unfreeze();
    const anchorVars = new Set(p.model.transformer.parameters().map((v) => v.name));
    const { value, grads } = tf.variableGrads(() => p.forward(t, 'refine').loss);
    let anchorNorm = 0;
    let refinerNorm = 0;
    for (const [name, g] of Object.entries(grads)) {
      const n = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
      if (anchorVars.has(name)) anchorNorm += n;
      else refinerNorm += n;
    }
    expect(anchorNorm).toBe(0);
    expect(refinerNorm).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    disposeBatchTensors(t);
    p.dispose();
  });

  it('the anchor is a function of the observation alone: the same at any batch position as alone', () => {
    const p = make();
    const t = p.toTensors(batch(7, 3));
    const [together, alone] = tf.tidy(() => {
      const x = (
        p as unknown as { modelBatch(t: unknown): { inputs: import('@anchor-refine/backbones').XvlaInputs } }
      ).modelBatch(t).inputs;
      // sample 2 on its own: every input sliced to [1, …] along the batch axis
      const one = Object.fromEntries(
        Object.entries(x).map(([k, v]) => {
          const tv = v as tf.Tensor;
          return [k, tf.slice(tv, [2, ...tv.shape.slice(1).map(() => 0)], [1, ...tv.shape.slice(1)])];
        }),
      ) as unknown as import('@anchor-refine/backbones').XvlaInputs;
      const all = p.anchorChunk(x).arm; // [3, H, D−1]
      return [tf.slice(all, [2, 0, 0], [1, -1, -1]).dataSync(), p.anchorChunk(one).arm.dataSync()];
    });
    const maxDiff = Math.max(...Array.from(together, (v, i) => Math.abs(v - alone[i])));
    expect(maxDiff).toBeLessThan(1e-5);
    disposeBatchTensors(t);
    p.dispose();
  });

  it("refiner tokens start from the anchor's action-token embedding; the refiner starts at ΔÂ ≈ 0", () => {
    const p = make();
    p.beginRefinePhase();
    const b = batch(5, 2);
    const t = p.toTensors(b);
    const [same, small] = tf.tidy(() => {
      const x = (
        p as unknown as { modelBatch(t: unknown): { inputs: import('@anchor-refine/backbones').XvlaInputs } }
      ).modelBatch(t).inputs;
      const bsz = 2;
      const zeros = tf.zeros([bsz, p.horizon, 20]);
      const prop = tf.mul(
        x.proprio,
        tf.tensor1d(Array.from({ length: 20 }, (_, c) => (c === 9 || c === 19 ? 0 : 1))),
      );
      const anchorTokens = p.model.transformer.actionTokens(zeros, prop, tf.zeros([bsz]), x.domain);
      const diff = tf.max(tf.abs(tf.sub(p.refinerTokens(x), anchorTokens))).dataSync()[0];
      const delta = tf.max(tf.abs(p.refine(x).delta)).dataSync()[0];
      return [diff, delta];
    });
    expect(same).toBe(0);
    expect(small).toBeLessThan(0.05);
    disposeBatchTensors(t);
    p.dispose();
  });

  it('predictActionChunk composes anchor + refiner; selectAction queues', () => {
    const p = make({ execution: { actionsPerChunk: 2 } });
    const obs = task.observation(0, 3);
    const c = p.predictActionChunk(obs);
    expect(c.arm.length).toBe(5 * 3);
    expect(c.gripper.length).toBe(5);
    const again = p.predictActionChunk([task.observation(0, 2), obs]);
    expect(Array.from(again.anchorArm)).toEqual(Array.from(c.anchorArm));
    // composed = anchor + ΔÂ·std (un-normalized)
    const std = task.stats.action.std;
    expect(c.arm[4]).toBeCloseTo(c.anchorArm[4] + c.delta[4] * std[1], 4);
    const a1 = p.selectAction(obs);
    expect(a1.length).toBe(4);
    p.selectAction(obs);
    p.reset();
    p.dispose();
  });

  it('validates the config with fixable messages', () => {
    expect(() =>
      xvlaPolicyConfig('tiny', { armDim: 3, stateDim: 3, overrides: { layout: { gripperChannel: 4 } } }),
    ).toThrow(/gripperChannel must be 9/);
    expect(() =>
      xvlaPolicyConfig('tiny', { armDim: 3, stateDim: 3, overrides: { layout: { armChannels: [0, 9, 1] } } }),
    ).toThrow(/except 9 and 19/);
    expect(() =>
      xvlaPolicyConfig('tiny', { armDim: 3, stateDim: 3, overrides: { execution: { actionsPerChunk: 9 } } }),
    ).toThrow(/actionsPerChunk/);
  });
});
