/**
 * LayerNormGrad (native): given dy and the forward's mean/rstd, [dx, dgamma, dbeta] via
 * ct_layernorm_backward (dgamma/dbeta summed over the leading axes; scalar 0 when gamma/beta are absent).
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { type LayerNormAttrs, LayerNormGrad, type LayerNormGradInputs } from '../kernel_names.js';
import { shapeStr } from '../shape_utils.js';
import { f32 } from './kernel_utils.js';
import { layerNormGeometry } from './LayerNorm.js';

export const layerNormGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as LayerNormGradInputs;
  const a = attrs as LayerNormAttrs;
  const g = layerNormGeometry(LayerNormGrad, ins.x, ins.gamma, ins.beta, a);
  for (const [name, t, want] of [
    ['dy', ins.dy, ins.x.shape],
    ['mean', ins.mean, g.rowShape],
    ['rstd', ins.rstd, g.rowShape],
  ] as const) {
    if (t.dtype !== 'float32' || t.shape.join(',') !== want.join(',')) {
      throw new Error(
        `${LayerNormGrad}: ${name} must be float32 ${shapeStr(want)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
  const dx = outputF32(cpu, g.rows * g.dim);
  const dgamma = a.hasGamma ? outputF32(cpu, g.dim) : null;
  const dbeta = a.hasBeta ? outputF32(cpu, g.dim) : null;
  loadAddon().layerNormBackward(
    g.rows,
    g.dim,
    f32(cpu, ins.x),
    a.hasGamma ? f32(cpu, ins.gamma) : null,
    f32(cpu, ins.mean),
    f32(cpu, ins.rstd),
    f32(cpu, ins.dy),
    dx,
    dgamma,
    dbeta,
  );
  return [
    cpu.makeTensorInfo(ins.x.shape, 'float32', dx),
    dgamma
      ? cpu.makeTensorInfo([g.dim], 'float32', dgamma)
      : cpu.makeTensorInfo([], 'float32', new Float32Array(1)),
    dbeta
      ? cpu.makeTensorInfo([g.dim], 'float32', dbeta)
      : cpu.makeTensorInfo([], 'float32', new Float32Array(1)),
  ];
};

export const layerNormGradConfig: KernelConfig = {
  kernelName: LayerNormGrad,
  backendName: 'native',
  kernelFunc: layerNormGrad,
};
