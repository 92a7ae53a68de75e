/**
 * composeResidual: the action chunk from the anchor and the refiner's residuals (AnchorRefine Eq. 2
 * and Eq. 11), un-normalized and clamped. One native kernel on the `native` backend (with a registered
 * gradient for anchor, delta, gripLogit, gripDelta and the affine/bounds vectors); the composite
 * reference elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { ComposeResidual, type ComposeResidualAttrs } from '../kernel_names.js';
import { composeResidualComposite } from './compose_residual_reference.js';
import {
  affineOf,
  type ComposeInputs,
  type ComposeOptions,
  type ComposeOutputs,
  toArmVector,
} from './compose_types.js';
import { validateCompose } from './compose_validate.js';
import { activeBackendHas } from './has_kernel.js';

export function composeResidual(inputs: ComposeInputs, options: ComposeOptions = {}): ComposeOutputs {
  if (!activeBackendHas(ComposeResidual)) return composeResidualComposite('composeResidual', inputs, options);
  return tf.tidy(() => {
    const { anchor, delta, gripLogit, gripDelta } = inputs;
    const affine = options.unnormalize ? affineOf(options.unnormalize) : undefined;
    const low = options.bounds ? toArmVector(options.bounds.low) : undefined;
    const high = options.bounds ? toArmVector(options.bounds.high) : undefined;
    validateCompose('composeResidual', {
      anchor,
      delta,
      gripLogit,
      gripDelta,
      vectors: { scale: affine?.scale, shift: affine?.shift, low, high },
    });
    const placeholder = tf.scalar(0);
    const attrs: ComposeResidualAttrs = {
      hasDelta: delta !== undefined,
      hasGripDelta: gripDelta !== undefined,
      hasAffine: affine !== undefined,
      hasBounds: low !== undefined,
    };
    const kernelInputs = {
      anchor,
      delta: delta ?? placeholder,
      gripLogit,
      gripDelta: gripDelta ?? placeholder,
      scale: affine?.scale ?? placeholder,
      shift: affine?.shift ?? placeholder,
      low: low ?? placeholder,
      high: high ?? placeholder,
    };
    const [arm, prob, closed] = tf.engine().runKernel(ComposeResidual, kernelInputs, attrs) as tf.Tensor[];
    return { arm, prob, closed };
  });
}
