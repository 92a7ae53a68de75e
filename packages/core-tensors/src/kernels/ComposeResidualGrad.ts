/**
 * ComposeResidualGrad (native): given dArm [..., armDim] and dProb [...], the gradients
 * [dArmIn (of anchor and of delta: they enter as a sum), dLogit, dGripDelta].
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from '../addon.js';
import {
  type ComposeResidualAttrs,
  ComposeResidualGrad,
  type ComposeResidualGradInputs,
} from '../kernel_names.js';
import { shapeStr } from '../shape_utils.js';
import { composeCall } from './compose_args.js';
import { f32 } from './kernel_utils.js';

export const composeResidualGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const ins = inputs as unknown as ComposeResidualGradInputs;
  const c = composeCall(ComposeResidualGrad, cpu, ins, attrs as ComposeResidualAttrs);
  for (const [name, t, want] of [
    ['dArm', ins.dArm, ins.anchor.shape],
    ['dProb', ins.dProb, ins.gripLogit.shape],
  ] as const) {
    if (t.dtype !== 'float32' || t.shape.join(',') !== want.join(',')) {
      throw new Error(
        `${ComposeResidualGrad}: ${name} must be float32 ${shapeStr(want)} (got ${shapeStr(t.shape)} ${t.dtype})`,
      );
    }
  }
  const dArmIn = new Float32Array(c.args.rows * c.args.armDim);
  const dLogit = new Float32Array(c.args.rows);
  const dGripDelta = new Float32Array(c.args.rows);
  loadAddon().residualComposeBackward(
    c.args,
    c.anchor,
    c.delta,
    c.gripLogit,
    c.gripDelta,
    f32(cpu, ins.dArm),
    f32(cpu, ins.dProb),
    dArmIn,
    dLogit,
    dGripDelta,
  );
  return [
    cpu.makeTensorInfo(ins.anchor.shape, 'float32', dArmIn),
    cpu.makeTensorInfo(ins.gripLogit.shape, 'float32', dLogit),
    cpu.makeTensorInfo(ins.gripLogit.shape, 'float32', dGripDelta),
  ];
};

export const composeResidualGradConfig: KernelConfig = {
  kernelName: ComposeResidualGrad,
  backendName: 'native',
  kernelFunc: composeResidualGrad,
};
