import * as tf from '@tensorflow/tfjs';

/**
 * `fn(x)` with a zero gradient w.r.t. `x` — `sg(fn(x))` as one taped op. tfjs has no public
 * `stopGradient`; this is a `tf.customGrad` whose forward runs `fn` (its ops are not taped, so ops
 * without gradients such as `less` are fine inside) and whose backward returns `zerosLike(x)`.
 * Because the op is still on the tape, `tf.grads` w.r.t. an input that only reaches the output through
 * it returns exact zeros instead of throwing "Cannot compute gradient".
 */
export function withoutGradient(x: tf.Tensor, fn: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    return { value: fn(input), gradFunc: () => tf.zerosLike(input) };
  });
  return op(x);
}

/** sg(x): identity forward, zero gradient backward. Returns a new tensor. */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  return withoutGradient(x, (t) => t.clone());
}
