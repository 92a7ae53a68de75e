/** Streaming inference: a frame is encoded once, and a cached encoding is never stale. */
import { nativeWritableValues } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ObservationTensors } from '../types.js';
import { gr1Config } from './config.js';
import { EncodingCache } from './encoding_cache.js';
import { Gr1Backbone } from './model.js';

const FRAMES = 4;

/** Frames f0…f3 per camera as float arrays; obs(i) is the window (f_i, f_{i+1}) of one episode. */
function stream(bb: Gr1Backbone) {
  const cfg = bb.config;
  const n = cfg.vision.imageSize ** 2 * 3;
  let s = 7;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const frames = cfg.cameras.map(() =>
    Array.from({ length: FRAMES }, () => Float32Array.from({ length: n }, rnd)),
  );
  const px = cfg.vision.imageSize;
  return (i: number, edit?: (images: Float32Array[]) => void): ObservationTensors => {
    const images = cfg.cameras.map((_, c) => {
      const both = new Float32Array(2 * n);
      both.set(frames[c][i], 0);
      both.set(frames[c][i + 1], n);
      return both;
    });
    edit?.(images);
    return {
      images: Object.fromEntries(cfg.cameras.map((c, k) => [c, tf.tensor(images[k], [1, 2, px, px, 3])])),
      state: tf.zeros([1, 2, cfg.stateDim]),
      gripperState: tf.zeros([1, 2]),
      language: bb.tokenize(['pick the cube']),
      historyMask: tf.tensor2d([[true, true]], [1, 2], 'bool'),
    };
  };
}

const disposeObs = (o: ObservationTensors) =>
  tf.dispose([...Object.values(o.images), o.state, o.gripperState, o.language, o.historyMask]);

/** encode() of `obs` as tokens (values), and how many images the ViT saw. */
function encodeCounting(bb: Gr1Backbone, obs: ObservationTensors, training: boolean) {
  const vit = bb.vision.forward.bind(bb.vision);
  let images = 0;
  bb.vision.forward = (x: tf.Tensor) => {
    images += x.shape[0];
    return vit(x);
  };
  bb.train(training);
  try {
    const ctx = bb.encode(obs, { reuseEncodings: true });
    const out = Array.from(ctx.tokens.dataSync());
    tf.dispose([ctx.tokens, ctx.historyMask]);
    return { out, images };
  } finally {
    bb.vision.forward = vit;
    disposeObs(obs);
  }
}

const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(1e-5);
};

describe('GR-1 encoding cache (streaming inference)', () => {
  it('encodes each new frame once in eval mode, with the values of a fresh encoding', () => {
    const bb = new Gr1Backbone(gr1Config('tiny'), { seed: 3 });
    const obs = stream(bb);
    const cams = bb.cameras.length;
    const before = tf.memory().numTensors;
    expect(encodeCounting(bb, obs(0), false).images).toBe(2 * cams); // both frames are new
    for (let i = 1; i < FRAMES - 1; i++) {
      const cached = encodeCounting(bb, obs(i), false);
      expect(cached.images).toBe(cams); // f_i was seen by the previous call: one new frame per camera
      close(cached.out, encodeCounting(bb, obs(i), true).out); // training mode never uses the cache
    }
    expect(tf.memory().numTensors).toBeGreaterThan(before); // the cache holds encodings ...
    bb.dispose();
    expect(tf.memory().numTensors).toBe(before - bb.parameters().length); // ... and dispose frees them
  });

  it('recomputes when the weights change (assign, or an in-place optimizer write) or the frame buffer does', () => {
    const bb = new Gr1Backbone(gr1Config('tiny'), { seed: 4 });
    const obs = stream(bb);
    encodeCounting(bb, obs(0), false);
    const w = bb.vision.parameters().reduce((a, b) => (b.size > a.size ? b : a)); // pooled size (≥ 256)
    const scaled = tf.tidy(() => w.mul(1.5));
    w.assign(scaled); // a new dataId: every cached encoding is stale
    scaled.dispose();
    const afterAssign = encodeCounting(bb, obs(0), false);
    expect(afterAssign.images).toBe(2 * bb.cameras.length);
    close(afterAssign.out, encodeCounting(bb, obs(0), true).out);
    // in place (what AdamW does on native): same dataId, new values
    const values = nativeWritableValues(w);
    expect(values !== undefined).toBe(tf.getBackend() === 'native');
    if (values) {
      values[0] += 1;
      expect(encodeCounting(bb, obs(0), false).images).toBe(2 * bb.cameras.length);
    }
    // the same window with one pixel changed (a driver reusing its buffer) is a new frame
    const edited = encodeCounting(
      bb,
      obs(0, (imgs) => {
        imgs[0][5] += 0.25;
      }),
      false,
    );
    expect(edited.images).toBe(1);
    bb.dispose();
  });

  it('is bypassed under a gradient tape: gradients reach the vision encoder in eval mode', () => {
    const bb = new Gr1Backbone(gr1Config('tiny'), { seed: 5 });
    const obs = stream(bb);
    bb.eval();
    const o = obs(0);
    const first = bb.encode(o, { reuseEncodings: true }); // fills the cache
    tf.dispose([first.tokens, first.historyMask]);
    const w = bb.vision.parameters()[0];
    const { value, grads } = tf.variableGrads(() => {
      const ctx = bb.encode(o, { reuseEncodings: true });
      ctx.historyMask.dispose();
      return tf.sum(tf.square(ctx.tokens)) as tf.Scalar;
    }, [w]);
    expect(tf.tidy(() => tf.sum(tf.abs(grads[w.name])).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    disposeObs(o);
    bb.dispose();
  });

  it('validates its capacity', () => {
    expect(() => new EncodingCache(0)).toThrow('EncodingCache: capacity must be an integer >= 1 (got 0)');
  });
});
