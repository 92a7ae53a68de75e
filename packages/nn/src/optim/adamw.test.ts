import { nativeHostValues, nativeWritableValues } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, toTensors } from '../safetensors/index.js';
import { AdamW } from './adamw.js';
import { noDecayRule } from './params.js';

/** A variable owning its data: tf.variable() leaves the initial tensor alive, so dispose it here. */
function variable(initial: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}

/** Deterministic pseudo-random numbers in [-1, 1) (LCG), so the tests need no seeded tfjs ops. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function scalarGrad(name: string, value: number): Map<string, tf.Tensor> {
  return new Map([[name, tf.scalar(value)]]);
}

function disposeMap(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

describe('AdamW', () => {
  it('host-loop update equals the tf-op update (both paths, 3 steps, weight decay)', () => {
    const run = (hostUpdate: boolean) => {
      const init = tf.tensor2d([0.5, -1, 2, 0.25, -0.75, 1.5], [2, 3]);
      const w = tf.variable(init);
      init.dispose();
      const opt = new AdamW([['w', w]], { lr: 0.1, weightDecay: 0.05, hostUpdate });
      for (let k = 0; k < 3; k++) {
        const g = tf.tensor2d([0.1 * k, -0.2, 0.3, 1, -1, 0.5], [2, 3]);
        opt.step({ w: g });
        g.dispose();
      }
      const out = Array.from(w.dataSync());
      opt.dispose();
      w.dispose();
      return out;
    };
    const host = run(true);
    const ops = run(false);
    for (let i = 0; i < host.length; i++) expect(host[i]).toBeCloseTo(ops[i], 6);
  });

  it('matches a hand-computed two-step example on a scalar', () => {
    // lr = 0.1, wd = 0.1, betas = (0.9, 0.999), eps = 1e-8, p0 = 1, g1 = 0.5, g2 = -0.25.
    // t=1: p = 1·(1 − 0.01) = 0.99; m = 0.05; v = 0.00025; m̂ = 0.05/0.1 = 0.5; v̂ = 0.00025/0.001 = 0.25
    //      p = 0.99 − 0.1·0.5/(0.5 + 1e-8) = 0.890000002
    // t=2: p = 0.890000002·0.99 = 0.88110000198; m = 0.045 − 0.025 = 0.02; v = 0.00024975 + 0.0000625 = 0.00031225
    //      m̂ = 0.02/0.19 = 0.1052631579; v̂ = 0.00031225/0.001999 = 0.1562031016; √v̂ = 0.3952253807
    //      p = 0.88110000198 − 0.1·0.1052631579/0.3952253907 = 0.8544662987
    const w = variable(tf.scalar(1));
    const opt = new AdamW([['w', w]], { lr: 0.1, weightDecay: 0.1 });
    const g1 = scalarGrad('w', 0.5);
    opt.step(g1);
    expect(w.dataSync()[0]).toBeCloseTo(0.890000002, 6);
    const g2 = scalarGrad('w', -0.25);
    opt.step(g2);
    expect(w.dataSync()[0]).toBeCloseTo(0.8544662987, 6);
    expect(opt.stepCount).toBe(2);
    disposeMap(g1);
    disposeMap(g2);
    opt.dispose();
    w.dispose();
  });

  it('matches a float64 reference over several steps with per-group lr scale and weight decay', () => {
    const rand = lcg(7);
    const init = { a: [0.5, -1, 2, 0.25, -0.75, 1.5], b: [0.1, -0.2, 0.3] };
    const a = variable(tf.tensor2d(init.a, [2, 3]));
    const b = variable(tf.tensor1d(init.b));
    const cfg = { lr: 0.05, betas: [0.8, 0.95] as const, eps: 1e-6, weightDecay: 0.2 };
    const opt = new AdamW(
      [
        ['enc.a', a],
        ['head.b', b],
      ],
      { ...cfg, groups: [{ name: 'head', match: /^head\./, lrScale: 0.5, weightDecay: 0.05 }] },
    );
    const ref = {
      a: { p: [...init.a], m: init.a.map(() => 0), v: init.a.map(() => 0), lr: cfg.lr, wd: cfg.weightDecay },
      b: { p: [...init.b], m: init.b.map(() => 0), v: init.b.map(() => 0), lr: cfg.lr * 0.5, wd: 0.05 },
    };
    for (let t = 1; t <= 5; t++) {
      const ga = init.a.map(() => rand());
      const gb = init.b.map(() => rand());
      for (const [st, g] of [
        [ref.a, ga],
        [ref.b, gb],
      ] as const) {
        for (let i = 0; i < g.length; i++) {
          st.p[i] *= 1 - st.lr * st.wd;
          st.m[i] = 0.8 * st.m[i] + 0.2 * g[i];
          st.v[i] = 0.95 * st.v[i] + 0.05 * g[i] * g[i];
          const mHat = st.m[i] / (1 - 0.8 ** t);
          const vHat = st.v[i] / (1 - 0.95 ** t);
          st.p[i] -= (st.lr * mHat) / (Math.sqrt(vHat) + 1e-6);
        }
      }
      const grads = { 'enc.a': tf.tensor2d(ga, [2, 3]), 'head.b': tf.tensor1d(gb) };
      opt.step(grads);
      tf.dispose(grads);
    }
    const gotA = Array.from(a.dataSync());
    const gotB = Array.from(b.dataSync());
    for (const [i, x] of gotA.entries()) expect(x).toBeCloseTo(ref.a.p[i], 5);
    for (const [i, x] of gotB.entries()) expect(x).toBeCloseTo(ref.b.p[i], 5);
    opt.dispose();
    tf.dispose([a, b]);
  });

  it('decouples weight decay: a zero gradient still shrinks the weight by lr·wd', () => {
    const w = variable(tf.tensor2d([2, -4], [1, 2]));
    const bias = variable(tf.tensor1d([3]));
    const opt = new AdamW(
      [
        ['layer.weight', w],
        ['layer.bias', bias],
      ],
      { lr: 0.1, weightDecay: 0.5, groups: [noDecayRule()] },
    );
    const grads = { 'layer.weight': tf.zeros([1, 2]), 'layer.bias': tf.zeros([1]) };
    opt.step(grads);
    // p·(1 − 0.1·0.5) = p·0.95; the Adam term is 0/(0 + eps) = 0. The rank-1 bias is in the no-decay group.
    expect(Array.from(w.dataSync())).toEqual([Math.fround(2 * 0.95), Math.fround(-4 * 0.95)]);
    expect(Array.from(bias.dataSync())).toEqual([3]);
    expect(opt.paramGroups().map((g) => [g.name, g.params])).toEqual([
      ['no_decay', ['layer.bias']],
      ['default', ['layer.weight']],
    ]);
    tf.dispose(grads);
    opt.dispose();
    tf.dispose([w, bias]);
  });

  it('leaves frozen parameters and parameters without a gradient untouched', () => {
    const frozen = variable(tf.tensor1d([1, 2]), false);
    const idle = variable(tf.tensor1d([5]));
    const live = variable(tf.tensor1d([1]));
    const opt = new AdamW(
      [
        ['frozen', frozen],
        ['idle', idle],
        ['live', live],
      ],
      { lr: 0.1, weightDecay: 0.1 },
    );
    const grads = { frozen: tf.ones([2]), live: tf.ones([1]) };
    opt.step(grads);
    opt.step(grads);
    expect(Array.from(frozen.dataSync())).toEqual([1, 2]);
    expect(Array.from(idle.dataSync())).toEqual([5]);
    expect(live.dataSync()[0]).not.toBe(1);
    const sd = opt.stateDict();
    expect([...sd.keys()].sort()).toEqual(['exp_avg/live', 'exp_avg_sq/live', 'step', 'step/live']);
    expect(sd.get('step/live')!.dataSync()[0]).toBe(2);
    disposeMap(sd);
    tf.dispose(grads);
    opt.dispose();
    tf.dispose([frozen, idle, live]);
  });

  it('rejects a gradient with the wrong shape, an unknown name or a non-float dtype, before updating anything', () => {
    const w = variable(tf.zeros([2, 3]));
    const v = variable(tf.zeros([3]));
    const opt = new AdamW(
      [
        ['enc.w', w],
        ['enc.v', v],
      ],
      { lr: 0.1 },
    );
    const good = tf.ones([3]);
    const wrong = tf.ones([3, 2]);
    const ints = tf.ones([2, 3], 'int32');
    expect(() => opt.step({ 'enc.v': good, 'enc.w': wrong })).toThrow(
      'AdamW.step: gradient for "enc.w" has shape [3,2] but the parameter has shape [2,3]',
    );
    expect(Array.from(v.dataSync())).toEqual([0, 0, 0]); // nothing applied
    expect(() => opt.step({ 'enc.x': good })).toThrow('AdamW.step: gradient for unknown parameter "enc.x"');
    expect(() => opt.step({ 'enc.w': ints })).toThrow('gradient for "enc.w" has dtype int32');
    expect(() => opt.step({ 'enc.v': good }, -1)).toThrow('AdamW.step: lr must be a finite number >= 0');
    expect(opt.stepCount).toBe(0);
    tf.dispose([good, wrong, ints]);
    opt.dispose();
    expect(() => opt.step({})).toThrow('AdamW.step: the optimizer has been disposed');
    tf.dispose([w, v]);
  });

  it('validates its configuration and parameters', () => {
    const w = variable(tf.zeros([2]));
    const n = variable(tf.zeros([2], 'int32'));
    expect(() => new AdamW([['w', w]], { lr: -1 })).toThrow(
      'AdamW: lr must be a finite number >= 0 (got -1)',
    );
    expect(() => new AdamW([['w', w]], { lr: 1, betas: [0.9, 1] })).toThrow(
      'AdamW: betas[1] must be in [0, 1)',
    );
    expect(() => new AdamW([['w', w]], { lr: 1, eps: Number.NaN })).toThrow('AdamW: eps must be');
    expect(
      () =>
        new AdamW(
          [
            ['w', w],
            ['w', w],
          ],
          { lr: 1 },
        ),
    ).toThrow('AdamW: duplicate parameter name "w"');
    expect(
      () =>
        new AdamW(
          [
            ['a', w],
            ['b', w],
          ],
          { lr: 1 },
        ),
    ).toThrow('parameters "a" and "b" are the same variable');
    expect(() => new AdamW([['n', n]], { lr: 1 })).toThrow('parameter "n" has dtype int32');
    expect(() => new AdamW([['w', w]], { lr: 1, groups: [{ name: 'g', match: /w/, lrScale: -2 }] })).toThrow(
      'group "g".lrScale must be a finite number >= 0',
    );
    tf.dispose([w, n]);
  });

  it('continues identically after a state dict round trip through safetensors', () => {
    const rand = lcg(3);
    const shapes: Record<string, number[]> = { 'blk.w': [3, 2], 'blk.b': [2] };
    const make = () =>
      Object.entries(shapes).map(([name, shape]) => {
        const size = shape.reduce((x, y) => x * y, 1);
        return [
          name,
          variable(
            tf.tensor(
              Array.from({ length: size }, (_, i) => i / 4 - 0.5),
              shape,
            ),
          ),
        ] as [string, tf.Variable];
      });
    const gradsFor = () => {
      const g: Record<string, tf.Tensor> = {};
      for (const [name, shape] of Object.entries(shapes)) {
        const size = shape.reduce((x, y) => x * y, 1);
        g[name] = tf.tensor(
          Array.from({ length: size }, () => rand()),
          shape,
        );
      }
      return g;
    };
    const cfg = { lr: 0.01, weightDecay: 0.1, groups: [noDecayRule()] };
    const pa = make();
    const a = new AdamW(pa, cfg);
    for (let i = 0; i < 2; i++) {
      const g = gradsFor();
      a.step(g);
      tf.dispose(g);
    }
    const sd = a.stateDict();
    const bytes = encodeSafetensors(sd, { format: 'adamw' });
    disposeMap(sd);
    const loaded = toTensors(decodeSafetensors(bytes).tensors);

    const pb = make();
    for (const [i, [, v]] of pb.entries()) v.assign(pa[i][1]);
    const b = new AdamW(pb, cfg);
    b.loadStateDict(loaded);
    disposeMap(loaded);
    expect(b.stepCount).toBe(2);
    for (let i = 0; i < 3; i++) {
      const g = gradsFor();
      a.step(g);
      b.step(g);
      tf.dispose(g);
    }
    pa.forEach(([name, v], i) => {
      expect(Array.from(pb[i][1].dataSync()), name).toEqual(Array.from(v.dataSync()));
    });
    a.dispose();
    b.dispose();
    tf.dispose([...pa.map(([, v]) => v), ...pb.map(([, v]) => v)]);
  });

  it('rejects state dicts with missing, extra or mis-shaped keys, naming them, and keeps its state', () => {
    const w = variable(tf.ones([2, 2]));
    const opt = new AdamW([['w', w]], { lr: 0.1 });
    const g = { w: tf.ones([2, 2]) };
    opt.step(g);
    const base = opt.stateDict();
    const variant = (edit: (m: Map<string, tf.Tensor>) => void) => {
      const m = new Map(base);
      edit(m);
      return m;
    };
    const wrongShape = tf.zeros([4]);
    const fresh = tf.zeros([2, 2]);
    expect(() => opt.loadStateDict(variant((m) => m.delete('exp_avg_sq/w')))).toThrow(
      'AdamW.loadStateDict: missing key "exp_avg_sq/w"',
    );
    expect(() => opt.loadStateDict(variant((m) => m.delete('step')))).toThrow('missing key "step"');
    expect(() => opt.loadStateDict(variant((m) => m.set('exp_avg/nope', fresh)))).toThrow(
      'key "exp_avg/nope" names unknown parameter "nope"',
    );
    expect(() => opt.loadStateDict(variant((m) => m.set('momentum/w', fresh)))).toThrow(
      'unexpected key "momentum/w"',
    );
    expect(() => opt.loadStateDict(variant((m) => m.set('exp_avg/w', wrongShape)))).toThrow(
      '"exp_avg/w" has shape [4] but parameter "w" has shape [2,2]',
    );
    // Still usable, with its state intact.
    const after = opt.stateDict();
    expect(after.get('exp_avg/w')!.dataSync()).toEqual(base.get('exp_avg/w')!.dataSync());
    disposeMap(after);
    disposeMap(base);
    tf.dispose([wrongShape, fresh, g.w]);
    opt.dispose();
    w.dispose();
  });

  it('does not grow the tensor count across steps', () => {
    const w = variable(tf.ones([4, 4]));
    const opt = new AdamW([['w', w]], { lr: 0.1 });
    const g = { w: tf.ones([4, 4]) };
    opt.step(g);
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.step(g, 0.01);
    expect(tf.memory().numTensors).toBe(afterFirst);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(afterFirst - 2);
    tf.dispose([g.w, w]);
  });
});

describe('AdamW on the native backend: in place when provably private, and gradScale', () => {
  const N = 1024; // pooled size (the pool skips arrays under 256 floats)
  const randomGrads = (seed: number, steps: number) => {
    const r = lcg(seed);
    return Array.from({ length: steps }, () => Float32Array.from({ length: N }, r));
  };
  /** Runs `steps` AdamW steps from the same start; `hold` may keep a reference that blocks the in-place path. */
  function run(grads: Float32Array[], hold: (w: tf.Variable) => tf.Tensor | undefined, gradScale = 1) {
    const r = lcg(7);
    const w = variable(tf.tensor1d(Float32Array.from({ length: N }, r)));
    const opt = new AdamW([['w', w]], { lr: 0.01, weightDecay: 0.1 });
    const ids: object[] = [];
    const held: tf.Tensor[] = [];
    for (const g of grads) {
      const h = hold(w);
      if (h) held.push(h);
      const gt = tf.tensor1d(g);
      opt.step({ w: gt }, 0.01, { gradScale });
      gt.dispose();
      ids.push(w.dataId);
    }
    const out = Float32Array.from(w.dataSync());
    const state = opt.stateDict();
    const m = Float32Array.from(state.get('exp_avg/w')!.dataSync());
    tf.dispose([...state.values(), ...held]);
    opt.dispose();
    w.dispose();
    return { out, m, ids };
  }

  it('updates the parameter in place after the first step, bit for bit as the copying path', (ctx) => {
    if (tf.getBackend() !== 'native') ctx.skip(); // the in-place path is the native backend's
    const grads = randomGrads(11, 5);
    const inPlace = run(grads, () => undefined);
    // a clone per step shares the parameter's dataId (refCount 2): every step must copy instead
    const copying = run(grads, (w) => tf.clone(w));
    expect(new Set(inPlace.ids.slice(1)).size).toBe(1); // steps 2..5 kept the same dataId: written in place
    expect(new Set(copying.ids).size).toBe(grads.length); // a new dataId every step
    expect(inPlace.out).toEqual(copying.out);
    expect(inPlace.m).toEqual(copying.m);
  });

  it('never writes over an array someone else can see (a clone, a dataSync() result)', (ctx) => {
    if (tf.getBackend() !== 'native') ctx.skip();
    const w = variable(tf.tensor1d(new Float32Array(N).fill(1)));
    const opt = new AdamW([['w', w]], { lr: 0.1, weightDecay: 0 });
    const g = tf.tensor1d(new Float32Array(N).fill(0.5));
    opt.step({ w: g }); // w now holds a pooled array of its own
    expect(nativeWritableValues(w)).toBeDefined();
    const snapshot = tf.clone(w);
    expect(nativeWritableValues(w)).toBeUndefined(); // shared dataId
    const before = Float32Array.from(nativeHostValues(snapshot)!);
    opt.step({ w: g });
    expect(Float32Array.from(snapshot.dataSync())).toEqual(before); // the clone kept the old values
    snapshot.dispose();
    opt.step({ w: g });
    const read = w.dataSync(); // handed out: the array may be held outside tfjs from now on
    const readCopy = Float32Array.from(read);
    expect(nativeWritableValues(w)).toBeUndefined();
    opt.step({ w: g });
    expect(read).toEqual(readCopy);
    expect(w.dataSync()[0]).toBeLessThan(readCopy[0]); // and w did move on
    tf.dispose([g]);
    opt.dispose();
    w.dispose();
  });

  it('gradScale multiplies the gradient first (a power of two: bit for bit the pre-scaled gradient)', () => {
    const grads = randomGrads(13, 3);
    const scaled = run(grads, () => undefined, 0.25);
    const prescaled = run(
      grads.map((g) => g.map((x) => x * 0.25)),
      () => undefined,
    );
    expect(scaled.out).toEqual(prescaled.out);
    expect(scaled.m).toEqual(prescaled.m);
    const w = variable(tf.zeros([2]));
    const opt = new AdamW([['w', w]], { lr: 0.1 });
    const g = { w: tf.ones([2]) };
    expect(() => opt.step(g, 0.1, { gradScale: -1 })).toThrow(
      'AdamW.step: gradScale must be a finite number >= 0 (got -1)',
    );
    expect(() => opt.step(g, 0.1, { gradScale: Number.NaN })).toThrow(/gradScale must be a finite number/);
    tf.dispose([g.w]);
    opt.dispose();
    w.dispose();
  });
});
