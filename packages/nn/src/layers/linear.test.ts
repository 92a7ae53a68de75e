import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Linear } from './linear.js';
import { Transformer } from './transformer.js';

describe('Linear', () => {
  it('computes x·Wᵀ + b on a hand-worked 2×3 example', () => {
    const lin = new Linear(3, 2);
    expect(lin.weight.shape).toEqual([2, 3]);
    const w = tf.tensor2d([
      [1, 2, 3],
      [0, -1, 1],
    ]);
    const b = tf.tensor1d([0.5, -1]);
    lin.loadStateDict({ weight: w, bias: b });
    const x = tf.tensor2d([
      [1, 0, -1],
      [2, 1, 0],
    ]);
    const y = lin.forward(x);
    // row 0: [1−3, −1] + b = [−1.5, −2]; row 1: [2+2, −1] + b = [4.5, −2]
    expect(Array.from(y.dataSync())).toEqual([-1.5, -2, 4.5, -2]);
    tf.dispose([w, b, x, y]);
    lin.dispose();
  });

  it('takes a stand-in weight of the same shape for one call (x·W′ᵀ + b), and refuses another shape', () => {
    const lin = new Linear(2, 1);
    const [w, b] = [tf.tensor2d([[1, 2]]), tf.tensor1d([0.5])];
    lin.loadStateDict({ weight: w, bias: b });
    const x = tf.tensor2d([[3, 4]]);
    const swapped = tf.tensor2d([[2, 1]]); // the weight with its two input features swapped
    const y = lin.forward(x, swapped);
    expect(Array.from(y.dataSync())).toEqual([3 * 2 + 4 * 1 + 0.5]);
    const bad = tf.zeros([2, 1]);
    expect(() => lin.forward(x, bad)).toThrow('Linear: weight must be [1, 2], got [2, 1]');
    tf.dispose([w, b, x, swapped, y, bad]);
    lin.dispose();
  });

  it('maps any leading shape [..., in] → [..., out] and matches the 2-D result', () => {
    const lin = new Linear(4, 5, { rng: new Rng(1) });
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1);
    const y = lin.forward(x);
    expect(y.shape).toEqual([2, 3, 5]);
    const y2 = tf.tidy(() => lin.forward(tf.reshape(x, [6, 4])));
    tf.test_util.expectArraysClose(y.dataSync(), y2.dataSync());
    tf.dispose([x, y, y2]);
    lin.dispose();
  });

  it('omits bias when asked and uses the PyTorch default init range', () => {
    const lin = new Linear(16, 8, { bias: false, rng: new Rng(0) });
    expect(lin.bias).toBeUndefined();
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const v = lin.weight.dataSync();
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(0.25);
    lin.dispose();
  });

  it('rejects a wrong feature size', () => {
    const lin = new Linear(3, 2);
    const x = tf.zeros([2, 4]);
    expect(() => lin.forward(x)).toThrow(/last dim 3/);
    x.dispose();
    lin.dispose();
  });
});

describe('Linear on the native Linear kernel', () => {
  it('gives a transformer the same loss and bit-identical gradients as the composite matMul + add', (ctx) => {
    if (tf.getBackend() !== 'native' || !tf.getKernel('Linear', 'native')) ctx.skip(); // CORE_TENSORS_TEST_BACKEND=cpu
    const net = new Transformer({
      dim: 16,
      heads: 2,
      depth: 2,
      mlpRatio: 4,
      mode: 'causal',
      rng: new Rng(5),
    });
    const x = tf.randomNormal([3, 7, 16], 0, 1, 'float32', 11);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(net.forward(x))), net.parameters());
      const out = {
        loss: value.dataSync()[0],
        grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const withKernel = step();
    const config = tf.getKernel('Linear', 'native') as tf.KernelConfig;
    tf.unregisterKernel('Linear', 'native'); // core-tensors' linear() falls back to its composite reference
    let composite: ReturnType<typeof step>;
    try {
      composite = step();
    } finally {
      tf.registerKernel(config);
    }
    expect(withKernel.loss).toBe(composite.loss);
    expect(Object.keys(withKernel.grads).length).toBe(net.parameters().length);
    for (const [name, g] of Object.entries(composite.grads)) expect(withKernel.grads[name], name).toEqual(g);
    x.dispose();
    net.dispose();
  });
});
