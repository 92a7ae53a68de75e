/**
 * Composite (tf-ops) residual composition, AnchorRefine Eq. 2 and Eq. 11 then un-normalization: the
 * oracle for the native ComposeResidual kernel and the path on backends without it.
 *   arm    = clamp((anchor + delta) * scale + shift, low, high)
 *   prob   = clip(sigmoid(gripLogit) + gripDelta, 0, 1)
 *   closed = prob > 0.5
 */
import * as tf from '@tensorflow/tfjs';
import {
  affineOf,
  type ComposeInputs,
  type ComposeOptions,
  type ComposeOutputs,
  toArmVector,
} from './compose_types.js';
import { validateCompose } from './compose_validate.js';

export function composeResidualReference(
  inputs: ComposeInputs,
  options: ComposeOptions = {},
): ComposeOutputs {
  return composeResidualComposite('composeResidualReference', inputs, options);
}

/** The composite computation; `op` names the public entry point in validation errors. */
export function composeResidualComposite(
  op: string,
  inputs: ComposeInputs,
  options: ComposeOptions,
): ComposeOutputs {
  return tf.tidy(() => {
    const { anchor, delta, gripLogit, gripDelta } = inputs;
    const affine = options.unnormalize ? affineOf(options.unnormalize) : undefined;
    const low = options.bounds ? toArmVector(options.bounds.low) : undefined;
    const high = options.bounds ? toArmVector(options.bounds.high) : undefined;
    validateCompose(op, {
      anchor,
      delta,
      gripLogit,
      gripDelta,
      vectors: { scale: affine?.scale, shift: affine?.shift, low, high },
    });
    let arm = delta ? tf.add(anchor, delta) : anchor;
    if (affine) arm = tf.add(tf.mul(arm, affine.scale), affine.shift); // [..., Da] * [Da] + [Da]
    if (low && high) {
      // broadcast [Da] -> arm's shape first: tfjs's Maximum/Minimum gradients do not reduce broadcast dims
      arm = tf.minimum(tf.maximum(arm, tf.broadcastTo(low, arm.shape)), tf.broadcastTo(high, arm.shape));
    }
    let p = tf.sigmoid(gripLogit);
    if (gripDelta) p = tf.add(p, gripDelta);
    const prob = tf.clipByValue(p, 0, 1);
    const closed = tf.greater(prob, 0.5);
    // identity keeps `arm` a distinct tensor when it is the caller's anchor
    return { arm: arm === anchor ? tf.clone(anchor) : arm, prob, closed };
  });
}
