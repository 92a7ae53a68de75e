/**
 * linearReference: nn.Linear from differentiable tf ops (x·Wᵀ + b over the folded leading axes; the
 * oracle of the native Linear kernel and the fallback of `linear` on other backends).
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf } from '../shape_utils.js';

export function linearReference(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [out, inF] = weight.shape;
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [sizeOf(lead), inF]); // [N, in], N = prod(lead)
    let y = tf.matMul(x2, weight, false, true); // [N, in]·[out, in]ᵀ = [N, out]
    if (bias) y = tf.add(y, bias); // + [out] broadcast over N
    return tf.reshape(y, [...lead, out]); // [..., out]
  });
}
