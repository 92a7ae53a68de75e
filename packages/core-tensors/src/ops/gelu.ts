/**
 * gelu(x, { approximate }): GELU, differentiable. One native kernel forward (Gelu) and one backward
 * (GeluGrad) on a backend that has them; the composite reference elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { Gelu, type GeluAttrs } from '../kernel_names.js';
import { shapeStr } from '../shape_utils.js';
import { type GeluOptions, geluReference } from './gelu_reference.js';
import { activeBackendHas } from './has_kernel.js';

export function gelu(x: tf.Tensor, options: GeluOptions = {}): tf.Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  }
  if (x.dtype !== 'float32') throw new Error(`gelu: x must be float32 (got ${shapeStr(x.shape)} ${x.dtype})`);
  if (!activeBackendHas(Gelu)) return geluReference(x, { approximate });
  const attrs: GeluAttrs = { approximate };
  return tf.engine().runKernel(Gelu, { x }, attrs) as tf.Tensor;
}
