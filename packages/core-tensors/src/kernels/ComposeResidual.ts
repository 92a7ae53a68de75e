/**
 * ComposeResidual (native): arm = clamp((anchor + delta) * scale + shift, low, high),
 * prob = clip(sigmoid(gripLogit) + gripDelta, 0, 1), closed = prob > 0.5. Outputs [arm, prob, closed].
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import { ComposeResidual, type ComposeResidualAttrs, type ComposeResidualInputs } from '../kernel_names.js';
import { composeCall } from './compose_args.js';

export const composeResidual: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as ComposeResidualInputs;
  const c = composeCall(ComposeResidual, cpu, ins, attrs as ComposeResidualAttrs);
  const arm = new Float32Array(c.args.rows * c.args.armDim);
  const prob = new Float32Array(c.args.rows);
  const closed = new Uint8Array(c.args.rows);
  loadAddon().residualCompose(c.args, c.anchor, c.delta, c.gripLogit, c.gripDelta, arm, prob, closed);
  return [
    cpu.makeTensorInfo(ins.anchor.shape, 'float32', arm),
    cpu.makeTensorInfo(ins.gripLogit.shape, 'float32', prob),
    cpu.makeTensorInfo(ins.gripLogit.shape, 'bool', closed),
  ];
};

export const composeResidualConfig: KernelConfig = {
  kernelName: ComposeResidual,
  backendName: 'native',
  kernelFunc: composeResidual,
};
