/**
 * One shared test over every member of the policy contract (GR-1 and X-VLA AnchorRefine policies):
 * the factory, the shape facts, both training phases through the one trainStep, the chunk and action
 * outputs, checkpoint round trips that rebuild the right class, and no leaked tensors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { type AnyPolicyConfig, createPolicy, policyShape, validateAnyPolicyConfig } from './any.js';
import { loadPolicy, loadPolicyConfig, savePolicy } from './checkpoint.js';
import { policyConfig } from './config.js';
import { AnchorRefinePolicy } from './policy.js';
import { SyntheticReachTask } from './synthetic.js';
import { trainStep } from './train_step.js';
import { xvlaPolicyConfig } from './xvla/config.js';
import { XvlaAnchorRefinePolicy } from './xvla/policy.js';

const task = new SyntheticReachTask({ episodes: 4, imageSize: 32, seed: 9 });
const ARM = 3;

const members: Array<{ name: string; config: () => AnyPolicyConfig; cls: unknown; history: number }> = [
  {
    name: 'gr1',
    config: () =>
      policyConfig('tiny', { seed: 3, backbone: { config: { stateDim: task.stateDim, armDim: ARM } } }),
    cls: AnchorRefinePolicy,
    history: 2,
  },
  {
    name: 'xvla',
    config: () =>
      xvlaPolicyConfig('tiny', {
        armDim: ARM,
        stateDim: task.stateDim,
        overrides: { seed: 3, anchor: { steps: 2 } },
      }),
    cls: XvlaAnchorRefinePolicy,
    history: 1,
  },
];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.each(members)('policy contract: $name', ({ config, cls, history }) => {
  it('the factory builds the class of backbone.type; the shape facts match the config', () => {
    const cfg = config();
    const shape = policyShape(cfg);
    expect(shape).toMatchObject({ armDim: ARM, stateDim: task.stateDim, history, imageSize: 32 });
    expect(shape.cameras).toEqual([...task.cameras]);
    const p = createPolicy(cfg, task.stats);
    expect(p).toBeInstanceOf(cls);
    expect(p.horizon).toBe(shape.horizon);
    p.dispose();
  });

  it('trains both phases through trainStep, predicts chunks and actions, leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const cfg = config();
    const p = createPolicy(cfg, task.stats);
    const { horizon } = policyShape(cfg);
    const rng = new Rng(1);
    for (const phase of ['anchor', 'refine'] as const) {
      if (phase === 'refine') p.beginRefinePhase();
      const vars = p.setPhase(phase);
      const opt = new AdamW(
        p.namedParameters().filter(([, v]) => vars.includes(v)),
        { lr: 1e-3 },
      );
      const r = trainStep(p, opt, task.batch(rng, 2, history, horizon, [0, 1, 2, 3]), phase);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.gradNorm).toBeGreaterThan(0);
      opt.dispose();
    }
    p.eval();
    const c = p.predictActionChunk(task.observation(1, 0));
    expect(c.arm.length).toBe(horizon * ARM);
    expect(c.anchorArm.length).toBe(horizon * ARM);
    expect(c.gripper.length).toBe(horizon);
    for (const x of c.gripperProb) expect(x >= 0 && x <= 1).toBe(true);
    const a = p.selectAction(task.observation(1, 1));
    expect(a.length).toBe(ARM + 1);
    p.reset();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('save → load rebuilds the same class and reproduces predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-any-'));
    dirs.push(dir);
    const p = createPolicy(config(), task.stats);
    p.eval();
    await savePolicy(p, join(dir, 'ckpt'));
    expect((await loadPolicyConfig(join(dir, 'ckpt'))).backbone.type).toBe(p.config.backbone.type);
    const q = await loadPolicy(join(dir, 'ckpt'));
    expect(q).toBeInstanceOf(cls);
    q.eval();
    const obs = task.observation(2, 3);
    expect(Array.from(q.predictActionChunk(obs).arm)).toEqual(Array.from(p.predictActionChunk(obs).arm));
    expect(q.normalizationStats).toEqual(p.normalizationStats);
    // execution override (e.g. evaluating with a shorter execution horizon); validated like the file
    const r = await loadPolicy(join(dir, 'ckpt'), { execution: { actionsPerChunk: 1 } });
    expect(r.config.execution.actionsPerChunk).toBe(1);
    r.dispose();
    await expect(loadPolicy(join(dir, 'ckpt'), { execution: { actionsPerChunk: 999 } })).rejects.toThrow(
      /config\.json.*actionsPerChunk/,
    );
    p.dispose();
    q.dispose();
  });
});

describe('policy config union', () => {
  it('names backbone.type when it is neither gr1 nor xvla', () => {
    const bad = { ...members[0].config(), backbone: { type: 'gr2' } } as unknown as AnyPolicyConfig;
    expect(() => validateAnyPolicyConfig(bad)).toThrow(
      /backbone\.type must be one of 'gr1', 'xvla', got "gr2"/,
    );
    expect(() => createPolicy(bad)).toThrow(/backbone\.type/);
  });
});
