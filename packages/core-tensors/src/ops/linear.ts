/**
 * linear(x, weight, bias?): y [..., out] = x [..., in] · weightᵀ + bias, PyTorch's nn.Linear layout
 * (weight [out, in], bias [out]), differentiable. On a backend with the Linear kernel (native) it is one
 * kernel call forward, with no Reshape or Add around the GEMM, and one kernel per gradient; elsewhere the
 * composite reference (reshape, matMul, add, reshape) runs. First-order gradients only.
 */
import * as tf from '@tensorflow/tfjs';
import { Linear, type LinearAttrs } from '../kernel_names.js';
import { shapeStr } from '../shape_utils.js';
import { activeBackendHas } from './has_kernel.js';
import { linearReference } from './linear_reference.js';

export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const got = () =>
    `x ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}${bias ? `, bias ${shapeStr(bias.shape)}` : ''}`;
  if (weight.rank !== 2) throw new Error(`linear: weight must be [out, in] (got ${got()})`);
  const [out, inF] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF)
    throw new Error(`linear: x must be [..., ${inF}] (got ${got()})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out))
    throw new Error(`linear: bias must be [${out}] (got ${got()})`);
  if (x.dtype !== 'float32' || weight.dtype !== 'float32' || (bias && bias.dtype !== 'float32'))
    throw new Error(`linear: x, weight and bias must be float32 (got ${got()})`);
  if (!activeBackendHas(Linear)) return linearReference(x, weight, bias);
  const attrs: LinearAttrs = { hasBias: bias !== undefined };
  return tf.tidy(() => {
    const b = bias ?? tf.scalar(0);
    return tf.engine().runKernel(Linear, { x, weight, bias: b }, attrs) as tf.Tensor;
  });
}
