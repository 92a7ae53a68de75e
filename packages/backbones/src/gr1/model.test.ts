import { Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObservationTensors } from '../types.js';
import { gr1Config } from './config.js';
import { Gr1Backbone } from './model.js';
import { TextEncoder } from './text.js';
import { BYTE_BOS, BYTE_EOS, BYTE_PAD, ByteTokenizer } from './tokenizer.js';
import { gr1AttentionBias } from './trunk.js';
import { VisionTransformer } from './vit.js';

function randomObs(bb: Gr1Backbone, b: number, seed: number, valid = bb.history): ObservationTensors {
  const cfg = bb.config;
  const l = cfg.history;
  const px = cfg.vision.imageSize;
  const mask = Array.from({ length: b * l }, (_, i) => i % l < valid);
  return {
    images: Object.fromEntries(
      cfg.cameras.map((c, i) => [c, tf.randomUniform([b, l, px, px, 3], 0, 1, 'float32', seed + i)]),
    ),
    state: tf.randomNormal([b, l, cfg.stateDim], 0, 1, 'float32', seed + 10),
    gripperState: tf.tensor2d(
      Array.from({ length: b * l }, (_, i) => i % 2),
      [b, l],
    ),
    language: bb.tokenize(Array.from({ length: b }, (_, i) => `task ${i}`)),
    historyMask: tf.tensor2d(mask, [b, l], 'bool'),
  };
}

function disposeObs(o: ObservationTensors): void {
  tf.dispose([...Object.values(o.images), o.state, o.gripperState, o.language, o.historyMask]);
}

describe('gr1AttentionBias', () => {
  const visibility = (b: Float32Array, t: number) =>
    Array.from({ length: t }, (_, i) =>
      Array.from({ length: t }, (_, j) => (b[i * t + j] === 0 ? 1 : 0)).join(''),
    );

  it('is causal and hides every query key, a query itself included (GR-1 key mask)', () => {
    // L = 2 slots, N = 2 context tokens, H = 1 query: layout c c q | c c q
    expect(visibility(gr1AttentionBias(2, 2, 1), 6)).toEqual([
      '100000',
      '110000',
      '110000', // q₀ reads c₀,₀ c₀,₁ only
      '110100',
      '110110',
      '110110', // q₁ reads the context of slots 0 and 1, never q₀ or itself
    ]);
    // N = 1, H = 2: layout c q q | c q q — queries never see each other
    expect(visibility(gr1AttentionBias(2, 1, 2), 6)).toEqual([
      '100000',
      '100000',
      '100000',
      '100100',
      '100100',
      '100100',
    ]);
  });

  it("'self' differs only on the diagonal of query rows (a query sees itself, never another query)", () => {
    expect(visibility(gr1AttentionBias(2, 1, 2, 'self'), 6)).toEqual([
      '100000',
      '110000',
      '101000',
      '100100',
      '100110',
      '100101',
    ]);
    const [l, n, h] = [3, 2, 3];
    const t = l * (n + h);
    const g = gr1AttentionBias(l, n, h, 'gr1');
    const s = gr1AttentionBias(l, n, h, 'self');
    for (let i = 0; i < t; i++)
      for (let j = 0; j < t; j++) {
        const queryDiagonal = i === j && j % (n + h) >= n;
        expect(s[i * t + j], `(${i}, ${j})`).toBe(queryDiagonal ? 0 : g[i * t + j]);
      }
  });

  it('leaves no row empty: every token sees the first context token; no context is refused', () => {
    const [l, n, h] = [3, 4, 5];
    const t = l * (n + h);
    const b = gr1AttentionBias(l, n, h);
    for (let i = 0; i < t; i++) expect(b[i * t], `row ${i}`).toBe(0);
    // no query column is visible anywhere
    for (let i = 0; i < t; i++)
      for (let j = 0; j < t; j++) if (j % (n + h) >= n) expect(b[i * t + j]).toBe(-Infinity);
    expect(() => gr1AttentionBias(2, 0, 1)).toThrow(/contextTokens/);
  });
});

describe('ByteTokenizer', () => {
  it('encodes UTF-8 bytes between BOS and EOS and pads', () => {
    const t = new ByteTokenizer(6);
    expect(Array.from(t.encode('hé'))).toEqual([BYTE_BOS, 104, 0xc3, 0xa9, BYTE_EOS, BYTE_PAD]);
    expect(Array.from(t.encode('abcdefgh'))).toEqual([BYTE_BOS, 97, 98, 99, 100, BYTE_EOS]);
    expect(() => new ByteTokenizer(2)).toThrow(/contextLength/);
  });
});

describe('VisionTransformer patch embedding', () => {
  it('equals a stride-p convolution with the PyTorch conv weight [dim, 3, p, p]', () => {
    const cfg = { ...gr1Config('tiny').vision };
    const vit = new VisionTransformer(cfg, new Rng(3));
    const { imageSize: s, patchSize: p, dim } = cfg;
    tf.tidy(() => {
      const img = tf.randomUniform([2, s, s, 3], 0, 1, 'float32', 7);
      const x = tf.div(tf.sub(img, [0.485, 0.456, 0.406]), [0.229, 0.224, 0.225]);
      const w = tf.reshape(vit.patch_embed.weight, [dim, 3, p, p]); // [out, in, kh, kw]
      const hwio = tf.transpose(w, [2, 3, 1, 0]); // [kh, kw, in, out]
      const conv = tf.add(
        tf.conv2d(x as tf.Tensor4D, hwio as tf.Tensor4D, p, 'valid'),
        vit.patch_embed.bias!,
      ); // [2, g, g, dim]
      const expected = tf.reshape(conv, [2, (s / p) ** 2, dim]);
      // Re-run the module's patchify through its Linear.
      const g = s / p;
      const blocks = tf.transpose(tf.reshape(x, [2, g, p, g, p, 3]), [0, 1, 3, 5, 2, 4]);
      const got = vit.patch_embed.forward(tf.reshape(blocks, [2, g * g, 3 * p * p]));
      expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(1e-4);
      const out = vit.forward(img);
      expect(out.cls.shape).toEqual([2, dim]);
      expect(out.patches.shape).toEqual([2, (s / p) ** 2, dim]);
    });
    vit.dispose();
  });

  it('keeps its permuted patch weight only while the weight is unchanged, and only outside training', () => {
    const cfg = { ...gr1Config('tiny').vision };
    const base = tf.memory().numTensors;
    const vit = new VisionTransformer(cfg, new Rng(3));
    const fresh = new VisionTransformer(cfg, new Rng(9));
    const img = tf.randomUniform([1, cfg.imageSize, cfg.imageSize, 3], 0, 1, 'float32', 7);
    const cls = (m: VisionTransformer) => tf.tidy(() => m.forward(img).cls.dataSync().slice());
    vit.eval();
    fresh.eval();
    const before = tf.memory().numTensors;
    const first = cls(vit);
    expect(tf.memory().numTensors).toBe(before + 1); // the kept permutation
    expect(cls(vit)).toEqual(first); // the kept one
    expect(tf.memory().numTensors).toBe(before + 1);
    // A new weight (what loading a checkpoint does) must not reuse the old permutation.
    for (const [name, v] of fresh.namedParameters()) {
      const mine = vit.namedParameters().find(([n]) => n === name)![1];
      mine.assign(v);
    }
    expect(cls(vit)).toEqual(cls(fresh));
    expect(cls(vit)).not.toEqual(first);
    // Training mode (and any tape) permutes inside the graph: the gradient reaches the weight.
    vit.train();
    const g = tf.variableGrads(() => tf.sum(vit.forward(img).cls), [vit.patch_embed.weight]);
    expect(tf.tidy(() => tf.max(tf.abs(g.grads[vit.patch_embed.weight.name])).dataSync()[0])).toBeGreaterThan(
      0,
    );
    tf.dispose([g.value, ...Object.values(g.grads), img]);
    vit.dispose();
    fresh.dispose();
    expect(tf.memory().numTensors).toBe(base); // dispose() freed the kept permutation too
  });
});

describe('TextEncoder', () => {
  it('pools at the end-of-text token: padding after it changes nothing, text before it does', () => {
    const cfg = gr1Config('tiny').text;
    const enc = new TextEncoder(cfg, new Rng(4));
    const tok = new ByteTokenizer(cfg.contextLength);
    tf.tidy(() => {
      const a = tok.encode('pick');
      const padded = Int32Array.from(a);
      padded[cfg.contextLength - 1] = 65; // garbage after EOS (causal mask: EOS cannot see it)
      const other = tok.encode('pack');
      const ids = tf.tensor2d([...a, ...padded, ...other], [3, cfg.contextLength], 'int32');
      const out = enc.forward(ids).arraySync() as number[][];
      expect(Math.max(...out[1].map((v, i) => Math.abs(v - out[0][i])))).toBeLessThan(1e-5);
      expect(Math.max(...out[2].map((v, i) => Math.abs(v - out[0][i])))).toBeGreaterThan(1e-4);
    });
    enc.dispose();
  });
});

describe('Gr1Backbone + trunk', () => {
  const bb = new Gr1Backbone(gr1Config('tiny'), { seed: 1 });
  const trunk = bb.createTrunk({ depth: 2, seed: 2 });
  const d = bb.dim;
  afterAll(() => {
    bb.dispose();
    trunk.dispose();
  });

  it('encodes [B, L, N, d] context tokens', () => {
    const obs = randomObs(bb, 2, 1);
    const ctx = bb.encode(obs);
    expect(ctx.tokens.shape).toEqual([2, 2, bb.contextTokens, d]);
    expect(bb.contextTokens).toBe(2 + 2 * (2 + 1));
    tf.dispose([ctx.tokens, ctx.historyMask]);
    disposeObs(obs);
  });

  it("encodes every camera in one ViT batch, each camera's tokens those of its frames alone", () => {
    const obs = randomObs(bb, 2, 5);
    const [b, l, px, k] = [2, bb.history, bb.config.vision.imageSize, bb.config.resampler.numLatents];
    const got = tf.tidy(() => bb.encode(obs).tokens);
    const worst = tf.tidy(() => {
      let w = 0;
      bb.cameras.forEach((cam, i) => {
        const { cls, patches } = bb.vision.forward(tf.reshape(obs.images[cam], [b * l, px, px, 3]));
        const proj = bb.camera_embed.at(i);
        const own = tf.concat(
          [
            proj.embed_patch.forward(bb.resampler.forward(patches)),
            tf.expandDims(proj.embed_cls.forward(cls), 1),
          ],
          1,
        ); // [B·L, K+1, d]
        const time = tf.reshape(bb.embed_timestep.weight, [1, l, 1, d]);
        const want = tf.add(tf.reshape(own, [b, l, k + 1, d]), time);
        const slice = tf.slice(got, [0, 0, 2 + i * (k + 1), 0], [b, l, k + 1, d]);
        w = Math.max(w, tf.max(tf.abs(tf.sub(slice, want))).dataSync()[0]);
      });
      return w;
    });
    expect(worst).toBeLessThan(1e-5);
    got.dispose();
    disposeObs(obs);
  });

  it('query read-outs do not depend on other query tokens', () => {
    const obs = randomObs(bb, 2, 2);
    tf.tidy(() => {
      const ctx = bb.encode(obs);
      const qa = tf.randomNormal([3, d], 0, 1, 'float32', 5);
      const qb = tf.randomNormal([4, d], 0, 1, 'float32', 6);
      const alone = trunk.forward(ctx, qa); // [B, L, 3, d]
      const both = trunk.forward(ctx, tf.concat([qa, qb], 0)); // [B, L, 7, d]
      const first = tf.slice(both, [0, 0, 0, 0], [2, 2, 3, d]);
      expect(tf.max(tf.abs(tf.sub(alone, first))).dataSync()[0]).toBeLessThan(1e-5);
    });
    disposeObs(obs);
  });

  it('earlier slots ignore later and padded slots (causal over time)', () => {
    const full = randomObs(bb, 1, 3, 2);
    const half = randomObs(bb, 1, 3, 1); // same values, slot 1 marked padded
    const changed = {
      ...full,
      state: tf.tidy(() => tf.concat([tf.slice(full.state, [0, 0, 0], [1, 1, 3]), tf.fill([1, 1, 3], 9)], 1)),
    };
    tf.tidy(() => {
      const q = tf.randomNormal([2, d], 0, 1, 'float32', 9);
      const a = trunk.forward(bb.encode(full), q);
      const b = trunk.forward(bb.encode(half), q);
      const c = trunk.forward(bb.encode(changed), q);
      const slot0 = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 0], [1, 1, 2, d]);
      expect(tf.max(tf.abs(tf.sub(slot0(a), slot0(b)))).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(tf.sub(slot0(a), slot0(c)))).dataSync()[0]).toBeLessThan(1e-5);
      const slot1 = (t: tf.Tensor) => tf.slice(t, [0, 1, 0, 0], [1, 1, 2, d]);
      expect(tf.max(tf.abs(tf.sub(slot1(a), slot1(c)))).dataSync()[0]).toBeGreaterThan(1e-4);
    });
    changed.state.dispose();
    disposeObs(full);
    disposeObs(half);
  });

  it('rejects wrong shapes with the field name', () => {
    const obs = randomObs(bb, 2, 4);
    const bad = { ...obs, state: tf.zeros([2, 2, 5]) };
    expect(() => bb.encode(bad)).toThrow(/state must be \[B, 2, 3\]/);
    const noCam = { ...obs, images: { front: obs.images.front } };
    expect(() => bb.encode(noCam)).toThrow(/missing camera 'wrist'/);
    bad.state.dispose();
    disposeObs(obs);
  });
});
