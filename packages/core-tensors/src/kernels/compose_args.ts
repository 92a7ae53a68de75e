/** Builds the addon's ComposeArgs and optional input arrays from ComposeResidual kernel inputs. */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { ComposeArgs } from '../addon.js';
import type { ComposeResidualAttrs, ComposeResidualInputs } from '../kernel_names.js';
import { validateCompose } from '../ops/compose_validate.js';
import { f32 } from './kernel_utils.js';

export interface ComposeCall {
  args: ComposeArgs;
  anchor: Float32Array;
  delta: Float32Array | null;
  gripLogit: Float32Array;
  gripDelta: Float32Array | null;
}

export function composeCall(
  op: string,
  backend: MathBackendCPU,
  inputs: ComposeResidualInputs,
  attrs: ComposeResidualAttrs,
): ComposeCall {
  const { anchor, delta, gripLogit, gripDelta, scale, shift, low, high } = inputs;
  const { rows, armDim } = validateCompose(op, {
    anchor,
    delta: attrs.hasDelta ? delta : undefined,
    gripLogit,
    gripDelta: attrs.hasGripDelta ? gripDelta : undefined,
    vectors:
      attrs.hasAffine || attrs.hasBounds
        ? {
            scale: attrs.hasAffine ? scale : undefined,
            shift: attrs.hasAffine ? shift : undefined,
            low: attrs.hasBounds ? low : undefined,
            high: attrs.hasBounds ? high : undefined,
          }
        : undefined,
  });
  const args: ComposeArgs = { rows, armDim };
  if (attrs.hasAffine) {
    args.scale = f32(backend, scale);
    args.shift = f32(backend, shift);
  }
  if (attrs.hasBounds) {
    args.low = f32(backend, low);
    args.high = f32(backend, high);
  }
  return {
    args,
    anchor: f32(backend, anchor),
    delta: attrs.hasDelta ? f32(backend, delta) : null,
    gripLogit: f32(backend, gripLogit),
    gripDelta: attrs.hasGripDelta ? f32(backend, gripDelta) : null,
  };
}
