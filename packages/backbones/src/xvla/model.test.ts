import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { xvlaConfig } from './config.js';
import { type XvlaInputs, XvlaModel } from './model.js';

function inputs(model: XvlaModel, b: number, seed: number): XvlaInputs {
  const cfg = model.config;
  const s = cfg.vl.kind === 'small' ? cfg.vl.imageSize : 224;
  const v = cfg.cameras.length;
  const rng = new Rng(seed);
  return {
    images: tf.tensor(rng.fillUniform(b * v * s * s * 3), [b, v, s, s, 3]),
    viewMask: tf.tensor2d(new Array(b * v).fill(true), [b, v], 'bool'),
    ids: model.tokenize(new Array(b).fill('pick up the cube')),
    proprio: tf.tensor2d(rng.fillNormal(b * 20), [b, 20]),
    domain: tf.tensor1d(new Array(b).fill(1), 'int32'),
  };
}
const disposeInputs = (i: XvlaInputs) => tf.dispose([i.images, i.viewMask, i.ids, i.proprio, i.domain]);

describe('XvlaModel (tiny)', () => {
  it('uses the upstream transformer names and per-domain table shapes', () => {
    const cfg = xvlaConfig('tiny');
    const m = new XvlaModel(cfg);
    const named = Object.fromEntries(m.namedParameters().map(([n, v]) => [n, v.shape]));
    const d = cfg.dim;
    expect(named['transformer.blocks.0.attn.qkv.weight']).toEqual([3 * d, d]);
    expect(named['transformer.blocks.1.mlp.fc2.weight']).toEqual([d, 4 * d]);
    expect(named['transformer.blocks.0.norm1.weight']).toEqual([d]);
    expect(named['transformer.pos_emb']).toEqual([1, cfg.maxLenSeq, d]);
    expect(named['transformer.action_encoder.fc.weight']).toEqual([cfg.numDomains, (40 + cfg.timeDim) * d]);
    expect(named['transformer.action_encoder.bias.weight']).toEqual([cfg.numDomains, d]);
    expect(named['transformer.action_decoder.fc.weight']).toEqual([cfg.numDomains, d * 20]);
    expect(named['transformer.soft_prompt_hub.weight']).toEqual([cfg.numDomains, cfg.softPromptLength * d]);
    expect(named['transformer.vlm_proj.weight']).toEqual([d, cfg.vl.dim]);
    expect(named['transformer.norm.bias']).toEqual([d]);
    m.dispose();
  });

  it('loss is finite for both objectives and the sampler is deterministic for one noise draw', () => {
    for (const objective of ['x0', 'velocity'] as const) {
      const m = new XvlaModel(xvlaConfig('tiny', { objective }), { seed: 3 });
      const inp = inputs(m, 3, 1);
      const h = m.config.horizon;
      const rng = new Rng(2);
      const a = tf.tidy(() => {
        const raw = tf.tensor3d(rng.fillNormal(3 * h * 20), [3, h, 20]);
        const g = tf.tensor1d(Array.from({ length: 20 }, (_, c) => (c === 9 || c === 19 ? 1 : 0)));
        return tf.add(tf.mul(raw, tf.sub(1, g)), g); // grippers closed
      });
      const noise = tf.tensor3d(rng.fillNormal(3 * h * 20), [3, h, 20]);
      const l = m.loss(inp, a, noise, 0.3);
      expect(Number.isFinite(l.loss.dataSync()[0])).toBe(true);
      const s1 = m.sample(inp, noise, 3);
      const s2 = m.sample(inp, noise, 3);
      expect(s1.actions.shape).toEqual([3, h, 20]);
      expect(s1.actionTokens.shape).toEqual([3, h, m.config.dim]);
      expect(Array.from(s1.actions.dataSync())).toEqual(Array.from(s2.actions.dataSync()));
      const p = s1.actions.dataSync();
      for (let i = 9; i < p.length; i += 20) expect(p[i] > 0 && p[i] < 1).toBe(true);
      tf.dispose([a, noise, l.loss, l.position, l.rotation, l.gripper, s1.raw, s1.actions, s1.actionTokens]);
      tf.dispose([s2.raw, s2.actions, s2.actionTokens]);
      disposeInputs(inp);
      m.dispose();
    }
  });

  it('the gripper channels of x_t and proprio never reach the network; padded views give zero aux tokens', () => {
    const m = new XvlaModel(xvlaConfig('tiny'), { seed: 4 });
    const inp = inputs(m, 1, 5);
    const h = m.config.horizon;
    const x1 = tf.tensor3d(new Rng(6).fillNormal(h * 20), [1, h, 20]);
    const bumped = tf.tidy(() =>
      tf.add(
        x1,
        tf
          .oneHot(tf.tensor1d([9], 'int32'), 20)
          .reshape([1, 1, 20])
          .mul(5),
      ),
    );
    const prop2 = tf.tidy(() => tf.add(inp.proprio, tf.oneHot(tf.tensor1d([19], 'int32'), 20).mul(3)));
    const a = m.sample(inp, x1, 2);
    const b = m.sample({ ...inp, proprio: prop2 }, bumped, 2);
    tf.test_util.expectArraysClose(a.actions.dataSync(), b.actions.dataSync(), 1e-5);
    const mask = tf.tensor2d([[true, false]], [1, 2], 'bool');
    const f = m.vlm.encode(inp.images, mask, inp.ids);
    expect(tf.tidy(() => tf.max(tf.abs(f.aux)).dataSync()[0])).toBe(0);
    tf.dispose([
      x1,
      bumped,
      prop2,
      a.raw,
      a.actions,
      a.actionTokens,
      b.raw,
      b.actions,
      b.actionTokens,
      mask,
      f.vlm,
      f.aux,
    ]);
    disposeInputs(inp);
    m.dispose();
  });

  it('paper preset validates; config errors say how to fix', () => {
    const cfg = xvlaConfig('paper');
    expect(cfg.vl.kind).toBe('florence2');
    expect(cfg.maxLenSeq).toBe(512);
    expect(() => xvlaConfig('tiny', { maxLenSeq: 10 })).toThrow(/raise maxLenSeq/);
    expect(() => xvlaConfig('tiny', { objective: 'eps' as 'x0' })).toThrow(/'x0'/);
  });
});
