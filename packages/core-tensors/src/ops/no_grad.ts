import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` with gradient recording off, like `torch.no_grad()`: inside a `tf.grad` / `tf.variableGrads`
 * function, the ops `fn` runs are not put on the tape, so the engine neither records them nor keeps the
 * `Identity` clones of their inputs and outputs it saves for a backward pass. Their results enter the
 * taped computation as constants: no gradient flows into anything `fn` read (as if each result went
 * through `stopGradient`, but without taping `fn` first). Use it for frozen modules, e.g. an encoder that a
 * training phase does not update. Outside a gradient function it only runs `fn`.
 */
export function noGrad<T>(fn: () => T): T {
  const state = tf.engine().state as unknown as { gradientDepth: number };
  const depth = state.gradientDepth;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.gradientDepth = depth;
  }
}
