/** Backend selection, diagnostics and op dispatch. */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, selectBackend, setThreads } from './backend.js';
import { composeResidual } from './ops/compose_residual.js';
import { fusedAttention } from './ops/fused_attention.js';
import { nativeAvailable } from './test-utils/native_available.js';

const native = nativeAvailable();
let initial = '';
beforeAll(() => {
  initial = tf.getBackend();
});

afterEach(async () => {
  await tf.setBackend(initial);
});

async function kernelsRun(f: () => tf.TensorContainer): Promise<string[]> {
  const info = await tf.profile(() => tf.tidy(f));
  tf.dispose(info.result);
  return info.kernelNames;
}

describe('selectBackend', () => {
  it("'tensorflow' without @tensorflow/tfjs-node-gpu rejects with install instructions", async () => {
    const before = tf.getBackend();
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /@tensorflow\/tfjs-node-gpu is not installed.*npm install @tensorflow\/tfjs-node-gpu.*downloads libtensorflow/s,
    );
    expect(tf.getBackend()).toBe(before);
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('webgpu' as never)).rejects.toThrow(/unknown backend 'webgpu'/);
  });

  it("'cpu' runs the composite ops", async () => {
    const info = await selectBackend('cpu');
    expect(info.backend).toBe('cpu');
    expect(info.nativeKernels).toEqual([]);
    const names = await kernelsRun(() => {
      const q = tf.ones([1, 1, 2, 4]) as tf.Tensor4D;
      return fusedAttention(q, q, q, { causal: true });
    });
    expect(names).not.toContain('FusedAttention');
    expect(names).toContain('Softmax');
  });

  it.skipIf(!native)("'native' registers the backend once and runs the fused kernels", async () => {
    const info = await selectBackend('native');
    await selectBackend('native'); // idempotent
    expect(info.backend).toBe('native');
    expect(info.nativeKernels).toEqual(
      expect.arrayContaining([
        'BatchMatMul',
        '_FusedMatMul',
        'FusedAttention',
        'FusedAttentionGrad',
        'FusedAttentionBiasGrad',
        'FusedSelfAttentionPacked',
        'FusedSelfAttentionPackedGrad',
        'FusedSelfAttentionPackedBiasGrad',
        'ComposeResidual',
      ]),
    );
    expect(info.addonPath).toMatch(/core_tensors\.node$/);
    expect(info.features?.apiVersion).toBe(2); // 2: attention layout strides
    const attn = await kernelsRun(() => {
      const q = tf.ones([1, 1, 2, 4]) as tf.Tensor4D;
      return fusedAttention(q, q, q);
    });
    expect(attn).toContain('FusedAttention');
    expect(attn).not.toContain('Softmax');
    const wide = await kernelsRun(() => {
      const q = tf.ones([1, 1, 2, 257]) as tf.Tensor4D; // headDim > 256: composite path
      return fusedAttention(q, q, q);
    });
    expect(wide).not.toContain('FusedAttention');
    const comp = await kernelsRun(() =>
      composeResidual({ anchor: tf.ones([2, 3]), gripLogit: tf.zeros([2]) }),
    );
    expect(comp).toContain('ComposeResidual');
    // the native backend still has every other cpu kernel
    expect(tf.getKernelsForBackend('native').length).toBeGreaterThan(150);
  });

  it.skipIf(!native)('setThreads changes the addon thread count; 0 restores the default', () => {
    const addonDefault = backendInfo().features?.threads;
    setThreads(1);
    expect(backendInfo().features?.threads).toBe(1);
    setThreads(0);
    expect(backendInfo().features?.threads).toBe(addonDefault);
    expect(() => setThreads(1.5)).toThrow(/setThreads: n must be an integer/);
  });
});

describe('BatchMatMul gradient (tfjs#8721), registered for every backend', () => {
  for (const backend of native ? (['cpu', 'native'] as const) : (['cpu'] as const)) {
    it(`[B,T,D] x [D,E] backward on ${backend} sums dW over the batch`, async () => {
      await selectBackend(backend);
      const [dx, dw] = tf.tidy(() => {
        const x = tf.ones([2, 3, 4]);
        const w = tf.ones([4, 5]);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b)))([x, w]);
        return g.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
      });
      expect(dx.shape).toEqual([2, 3, 4]);
      expect(dx.values.every((v) => v === 5)).toBe(true); // sum over E of w = 5
      expect(dw.shape).toEqual([4, 5]);
      expect(dw.values.every((v) => v === 6)).toBe(true); // sum over B*T of x = 6
    });
  }
});
