import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Transformer, TransformerBlock } from './transformer.js';

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('TransformerBlock / Transformer', () => {
  it('names parameters like a PyTorch pre-LN stack', () => {
    const tr = new Transformer({ dim: 8, heads: 2, depth: 2, crossAttention: true, rng: new Rng(0) });
    const names = tr.namedParameters().map(([n]) => n);
    expect(names.slice(0, 4)).toEqual([
      'blocks.0.ln_1.weight',
      'blocks.0.ln_1.bias',
      'blocks.0.attn.q_proj.weight',
      'blocks.0.attn.q_proj.bias',
    ]);
    expect(names).toContain('blocks.1.cross_attn.k_proj.weight');
    expect(names).toContain('blocks.1.ln_cross.bias');
    expect(names).toContain('blocks.1.mlp.fc2.weight');
    expect(names.slice(-2)).toEqual(['ln_f.weight', 'ln_f.bias']);
    // per block: 3 LN (16 each) + 2 attn (4·(64+8)) + mlp (8·32+32 + 32·8+8) = 48 + 576 + 552
    expect(tr.numParameters()).toBe(2 * (48 + 576 + 552) + 16);
    tr.dispose();
  });

  it('causal: the output at position t does not depend on later tokens', () => {
    const tr = new Transformer({
      dim: 8,
      heads: 2,
      depth: 2,
      mode: 'causal',
      init: 'pytorch',
      rng: new Rng(1),
    });
    const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 1);
    const t = 2;
    // Replace tokens t+1 … 5 with different values.
    const x2 = tf.tidy(() =>
      tf.concat(
        [tf.slice(x, [0, 0, 0], [2, t + 1, 8]), tf.randomNormal([2, 5 - t, 8], 0, 1, 'float32', 9)],
        1,
      ),
    );
    const a = tr.forward(x);
    const b = tr.forward(x2);
    const head = (y: tf.Tensor) => tf.slice(y, [0, 0, 0], [2, t + 1, 8]);
    const ha = head(a);
    const hb = head(b);
    tf.test_util.expectArraysClose(ha.dataSync(), hb.dataSync(), 1e-5);
    const tailA = tf.slice(a, [0, t + 1, 0], [2, 1, 8]);
    const tailB = tf.slice(b, [0, t + 1, 0], [2, 1, 8]);
    expect(Math.max(...values(tailA).map((v, i) => Math.abs(v - tailB.dataSync()[i])))).toBeGreaterThan(1e-3);

    // Bidirectional blocks do see later tokens.
    const bi = new Transformer({
      dim: 8,
      heads: 2,
      depth: 1,
      mode: 'bidirectional',
      init: 'pytorch',
      rng: new Rng(1),
    });
    const c = bi.forward(x);
    const d = bi.forward(x2);
    const hc = head(c);
    const hd = head(d);
    expect(Math.max(...values(hc).map((v, i) => Math.abs(v - hd.dataSync()[i])))).toBeGreaterThan(1e-3);
    tf.dispose([x, x2, a, b, ha, hb, tailA, tailB, c, d, hc, hd]);
    tr.dispose();
    bi.dispose();
  });

  it('cross-attends to a context of another length and width', () => {
    const block = new TransformerBlock({
      dim: 8,
      heads: 2,
      crossAttention: true,
      contextDim: 12,
      rng: new Rng(2),
    });
    const x = tf.randomNormal([3, 4, 8], 0, 1, 'float32', 2);
    const ctx = tf.randomNormal([3, 7, 12], 0, 1, 'float32', 3);
    const pad = tf.tensor2d(
      [
        [0, 0, 0, 0, 0, 1, 1],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 1],
      ],
      [3, 7],
      'bool',
    );
    const y = block.forward(x, { context: ctx, contextPaddingMask: pad });
    expect(y.shape).toEqual([3, 4, 8]);
    expect(values(y).every(Number.isFinite)).toBe(true);
    expect(() => block.forward(x)).toThrow(/needs a context/);
    tf.dispose([x, ctx, pad, y]);
    block.dispose();
  });

  it('is bit-identical for the same seed', () => {
    const cfg = { dim: 8, heads: 2, depth: 2, crossAttention: true } as const;
    const a = new Transformer({ ...cfg, rng: new Rng(5) });
    const b = new Transformer({ ...cfg, rng: new Rng(5) });
    const c = new Transformer({ ...cfg, rng: new Rng(6) });
    const pa = a.namedParameters();
    const pb = b.namedParameters();
    pa.forEach(([name, v], i) => {
      expect(pb[i][0]).toBe(name);
      expect(values(pb[i][1])).toEqual(values(v));
    });
    expect(values(c.blocks.at(0).attn.q_proj!.weight)).not.toEqual(
      values(a.blocks.at(0).attn.q_proj!.weight),
    );
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('gpt2 init scales residual projections by 1/√(2·depth)', () => {
    const tr = new Transformer({ dim: 64, heads: 4, depth: 8, rng: new Rng(7) });
    const std = (t: tf.Tensor) => {
      const v = values(t);
      return Math.sqrt(v.reduce((s, e) => s + e * e, 0) / v.length);
    };
    const block = tr.blocks.at(0);
    expect(std(block.attn.q_proj!.weight)).toBeCloseTo(0.02, 2);
    expect(std(block.attn.out_proj.weight) / 0.005).toBeCloseTo(1, 1);
    expect(std(block.mlp.fc2.weight) / 0.005).toBeCloseTo(1, 1);
    expect(values(block.mlp.fc1.bias!).every((e) => e === 0)).toBe(true);
    tr.dispose();
  });

  it('dropout is active in train mode only', () => {
    const tr = new Transformer({ dim: 8, heads: 2, depth: 1, dropout: 0.5, rng: new Rng(8) });
    const x = tf.randomNormal([1, 3, 8], 0, 1, 'float32', 8);
    const a = tr.forward(x);
    const b = tr.forward(x);
    expect(values(a)).not.toEqual(values(b));
    tr.eval();
    const c = tr.forward(x);
    const d = tr.forward(x);
    expect(values(c)).toEqual(values(d));
    tf.dispose([x, a, b, c, d]);
    tr.dispose();
  });

  it('gradients of a causal cross-attention block match finite differences', () => {
    const block = new TransformerBlock({
      dim: 4,
      heads: 2,
      mlpRatio: 2,
      mode: 'causal',
      crossAttention: true,
      contextDim: 3,
      init: 'pytorch',
      rng: new Rng(10),
    });
    const x = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 10);
    const ctx = tf.randomNormal([1, 2, 3], 0, 1, 'float32', 11);
    const r = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 12);
    const loss = () => tf.tidy(() => tf.sum(tf.mul(block.forward(x, { context: ctx }), r)) as tf.Scalar);

    const { value, grads } = tf.variableGrads(loss);
    const byName = new Map(block.namedParameters());
    const eps = 1e-2;
    const checks: Array<[string, number]> = [
      ['ln_1.weight', 1],
      ['attn.q_proj.weight', 5],
      ['attn.k_proj.bias', 2],
      ['attn.v_proj.weight', 9],
      ['attn.out_proj.weight', 3],
      ['ln_cross.bias', 0],
      ['cross_attn.q_proj.weight', 6],
      ['cross_attn.k_proj.weight', 4],
      ['cross_attn.v_proj.bias', 1],
      ['mlp.fc1.weight', 7],
      ['mlp.fc2.bias', 3],
    ];
    for (const [name, idx] of checks) {
      const v = byName.get(name)!;
      const orig = v.dataSync().slice();
      const at = (delta: number) => {
        const w = orig.slice();
        w[idx] += delta;
        tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
        const l = loss();
        const out = l.dataSync()[0];
        l.dispose();
        return out;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(orig, v.shape)));
      const analytic = grads[v.name].dataSync()[idx];
      expect(
        Math.abs(numeric - analytic),
        `${name}[${idx}]: numeric ${numeric}, analytic ${analytic}`,
      ).toBeLessThan(2e-3 + 1e-2 * Math.abs(analytic));
    }

    // Input gradient too (flows through causal attention, LN and the residuals).
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(block.forward(xi, { context: ctx }), r)))(x);
    const xv = x.dataSync().slice();
    for (const idx of [0, 6, 11]) {
      const f = (delta: number) =>
        tf.tidy(() => {
          const w = xv.slice();
          w[idx] += delta;
          return tf.sum(tf.mul(block.forward(tf.tensor(w, x.shape), { context: ctx }), r)).dataSync()[0];
        });
      const numeric = (f(eps) - f(-eps)) / (2 * eps);
      const analytic = dx.dataSync()[idx];
      expect(Math.abs(numeric - analytic), `x[${idx}]`).toBeLessThan(2e-3 + 1e-2 * Math.abs(analytic));
    }
    tf.dispose([x, ctx, r, value, dx, ...Object.values(grads)]);
    block.dispose();
  });
});
