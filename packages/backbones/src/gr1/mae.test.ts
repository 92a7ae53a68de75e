/** MAE pretraining of the ViT: the masks, the loss on hidden patches, and that the ViT learns from it. */
import { AdamW, gradsByParamName, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gr1Config } from './config.js';
import { DEFAULT_MAE, MaeDecoder, maeLoss, randomMasks, validateMaeConfig, visibleCount } from './mae.js';
import { VisionTransformer } from './vit.js';

describe('MAE masks', () => {
  it('keep round((1 - ratio)·P) patches visible per image, and restore puts every patch back in its place', () => {
    const [n, p] = [3, 36];
    const keep = visibleCount(p, 0.75);
    expect(keep).toBe(9);
    const m = randomMasks(n, p, keep, new Rng(4));
    for (let i = 0; i < n; i++) {
      const slots = new Set<number>();
      let hiddenCount = 0;
      for (let j = 0; j < p; j++) {
        const slot = m.restore[i * p + j] - i * p; // this patch's place in the shuffled sequence
        expect(slot).toBeGreaterThanOrEqual(0);
        expect(slot).toBeLessThan(p);
        slots.add(slot);
        if (slot < keep) {
          expect(m.visible[i * keep + slot]).toBe(i * p + j); // visible slot s holds this patch
          expect(m.hidden[i * p + j]).toBe(0);
        } else {
          expect(m.hidden[i * p + j]).toBe(1);
          hiddenCount++;
        }
      }
      expect(slots.size).toBe(p); // a permutation
      expect(hiddenCount).toBe(p - keep);
    }
    // different images get different masks
    expect(Array.from(m.hidden.subarray(0, p)).join()).not.toBe(
      Array.from(m.hidden.subarray(p, 2 * p)).join(),
    );
  });

  it('refuses a ratio that hides nothing or everything, naming the field', () => {
    expect(() => validateMaeConfig({ ...DEFAULT_MAE, maskRatio: 0.99 }, 36)).toThrow(/mae.maskRatio/);
    expect(() => validateMaeConfig({ ...DEFAULT_MAE, maskRatio: 0 }, 36)).toThrow(/mae.maskRatio/);
    expect(() => validateMaeConfig({ ...DEFAULT_MAE, dim: 30 }, 36)).toThrow(/mae.dim/);
  });
});

describe('maeLoss', () => {
  it('is the squared error averaged over the hidden patches only (hand-computed)', () => {
    const pred = tf.tensor3d([
      [
        [1, 2],
        [5, 5],
      ],
    ]); // [1, 2 patches, 2]
    const target = tf.tensor3d([
      [
        [0, 0],
        [0, 0],
      ],
    ]);
    const hidden = tf.tensor2d([[1, 0]]);
    const l = maeLoss(pred, target, hidden);
    expect(l.dataSync()[0]).toBeCloseTo((1 + 4) / 2, 6); // only patch 0: mean(1², 2²)
    tf.dispose([pred, target, hidden, l]);
  });
});

describe('MaeDecoder', () => {
  it('trains the ViT: the loss on fixed images falls, without leaking tensors', () => {
    const cfg = gr1Config('tiny').vision;
    const vit = new VisionTransformer(cfg, new Rng(1));
    const dec = new MaeDecoder({ maskRatio: 0.5, dim: 32, depth: 1, heads: 2 }, vit, new Rng(2));
    const s = cfg.imageSize;
    // structured images: a bright square at a different place in each
    const images = tf.tidy(() => {
      const data = new Float32Array(4 * s * s * 3).fill(0.2);
      for (let i = 0; i < 4; i++)
        for (let y = 0; y < s / 2; y++)
          for (let x = 0; x < s / 2; x++) {
            const [oy, ox] = [(i >> 1) * (s / 2), (i & 1) * (s / 2)];
            for (let c = 0; c < 3; c++) data[((i * s + oy + y) * s + ox + x) * 3 + c] = 0.9 - 0.3 * c;
          }
      return tf.tensor4d(data, [4, s, s, 3]);
    });
    const named = [
      ...vit.namedParameters(),
      ...dec.namedParameters().map(([k, v]) => [`mae.${k}`, v] as [string, tf.Variable]),
    ];
    const opt = new AdamW(named, { lr: 3e-3 });
    const vars = named.map(([, v]) => v);
    const rng = new Rng(3);
    const losses: number[] = [];
    const w0 = vit.encoder.blocks.at(0).namedParameters()[0][1].dataSync().slice();
    for (let step = 0; step < 40; step++) {
      const { value, grads } = tf.variableGrads(() => dec.loss(images, rng), vars);
      opt.step(gradsByParamName(named, grads));
      losses.push(value.dataSync()[0]);
      tf.dispose([value, ...Object.values(grads)]);
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    // the ViT's own weights moved (the encoder is trained, not just the decoder)
    const w1 = vit.encoder.blocks.at(0).namedParameters()[0][1].dataSync();
    expect(w1.some((v, i) => v !== w0[i])).toBe(true);
    // a loss call leaves no tensor behind
    const after = tf.memory().numTensors;
    const l = tf.tidy(() => dec.loss(images, rng));
    l.dispose();
    expect(tf.memory().numTensors).toBe(after);
    opt.dispose();
    tf.dispose(images);
    vit.dispose();
    dec.dispose();
  });
});
