/** Early release in the backward pass: the same gradients, less memory held, nothing freed that is seen. */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { setBackwardRelease } from './backward_release.js';
import { layerNorm } from './ops/layer_norm.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';
import { useBackend } from './test-utils/use_backend.js';

/** A residual block with fan-out (x feeds three branches), a weight used twice, and LayerNorm. */
function model(x: tf.Tensor2D, w: tf.Variable, v: tf.Variable): tf.Scalar {
  const h = tf.add(x, tf.matMul(x, w)); // x feeds the skip and the matmul
  const n = layerNorm(h);
  const u = tf.matMul(tf.tanh(tf.matMul(n, w)), v); // w used a second time
  return tf.sum(tf.mul(tf.add(u, x), tf.exp(tf.mul(n, 0.1)))) as tf.Scalar;
}

/** Peak bytes of tensor data alive during `fn`, counting only what `fn` allocates. */
function peakBytes(backend: MathBackendCPU, fn: () => void): number {
  const b = backend as unknown as {
    write(values: ArrayBufferView, shape: number[], dtype: string): object;
    disposeData(dataId: object, force?: boolean): boolean;
  };
  const [write, disposeData] = [b.write, b.disposeData];
  const live = new Map<object, number>();
  let cur = 0;
  let peak = 0;
  b.write = (values, shape, dtype) => {
    const id = write.call(backend, values, shape, dtype);
    live.set(id, values.byteLength);
    cur += values.byteLength;
    peak = Math.max(peak, cur);
    return id;
  };
  b.disposeData = (dataId, force) => {
    const freed = disposeData.call(backend, dataId, force);
    if (freed && live.has(dataId)) {
      cur -= live.get(dataId) ?? 0;
      live.delete(dataId);
    }
    return freed;
  };
  try {
    fn();
  } finally {
    b.write = write;
    b.disposeData = disposeData;
  }
  return peak;
}

describe.skipIf(!nativeAvailable())('backward release (native backend)', () => {
  const native = useBackend('native', () => setBackwardRelease(true));

  const rng = makeRng(5);
  const [rows, dim] = [64, 48];
  const x = () => tf.tensor2d(rng.normals(rows * dim), [rows, dim]);
  const weight = () => {
    const init = tf.tensor2d(rng.normals(dim * dim, 0.1), [dim, dim]);
    const w = tf.variable(init);
    init.dispose(); // tf.variable copies: the initial tensor is ours to free
    return w;
  };

  function variableGrads(release: boolean, xv: tf.Tensor2D, w: tf.Variable, v: tf.Variable) {
    const was = setBackwardRelease(release);
    try {
      const { value, grads } = tf.variableGrads(() => model(xv, w, v), [w, v]);
      const out = { value: value.dataSync()[0], w: grads[w.name].dataSync(), v: grads[v.name].dataSync() };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    } finally {
      setBackwardRelease(was);
    }
  }

  it('gives the same gradients bit for bit, holds less at its peak, and leaves no tensor behind', () => {
    const xv = x();
    const [w, v] = [weight(), weight()];
    const before = tf.memory().numTensors;
    const off = variableGrads(false, xv, w, v);
    const on = variableGrads(true, xv, w, v);
    expect(on.value).toBe(off.value);
    expect(on.w).toEqual(off.w);
    expect(on.v).toEqual(off.v);
    expect(tf.memory().numTensors).toBe(before);
    const peakOff = peakBytes(native(), () => variableGrads(false, xv, w, v));
    const peakOn = peakBytes(native(), () => variableGrads(true, xv, w, v));
    expect(peakOn).toBeLessThan(0.8 * peakOff);
    tf.dispose([xv, w, v]);
  });

  it("keeps gradients the caller can see: of an intermediate in xs, and the caller's dy", () => {
    const xv = x();
    const w = weight();
    const run = (release: boolean) => {
      const was = setBackwardRelease(release);
      try {
        // gradient w.r.t. x and w, with x also feeding the graph twice; dy given by the caller
        const dy = tf.onesLike(xv);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(tf.tanh(tf.matMul(a, b)), a))([xv, w], dy);
        expect(dy.isDisposed).toBe(false);
        const out = g.map((t) => Array.from(t.dataSync()));
        tf.dispose([...g, dy]);
        return out;
      } finally {
        setBackwardRelease(was);
      }
    };
    expect(run(true)).toEqual(run(false));
    tf.dispose([xv, w]);
  });

  it('leaves higher-order gradients exact (the inner backward is taped)', () => {
    const xs = [0.5, -1.25, 2];
    const a = tf.tensor1d(xs);
    const cube = (t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, t), t)) as tf.Scalar;
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.grad(cube)(t)) as tf.Scalar)(a);
    const got = g2.dataSync();
    for (const [i, v] of xs.entries()) expect(got[i]).toBeCloseTo(6 * v, 4);
    tf.dispose([a, g2]);
  });
});
