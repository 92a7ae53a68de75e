/** Gradient containers accepted by the optimizers and by clipGradNorm, normalized to one shape. */
import * as tf from '@tensorflow/tfjs';

/** Tensors keyed by name, as a Map or a plain record. */
export type TensorMap = ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>;

/** Gradients keyed by parameter name: what `tf.variableGrads` returns, or a Map built by hand. */
export type GradMap = TensorMap;

/** Entries of a GradMap in insertion order; errors name the caller and the offending key. */
export function gradEntries(owner: string, grads: TensorMap): Array<[string, tf.Tensor]> {
  const entries: Array<[string, tf.Tensor]> =
    grads instanceof Map ? [...grads.entries()] : Object.entries(grads as Record<string, tf.Tensor>);
  for (const [name, grad] of entries) {
    if (!(grad instanceof tf.Tensor)) {
      throw new TypeError(`${owner}: gradient "${name}" is not a tf.Tensor`);
    }
    if (grad.isDisposed) throw new Error(`${owner}: gradient "${name}" is already disposed`);
  }
  return entries;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Re-keys `tf.variableGrads` output (keyed by tfjs variable name, e.g. `Linear_7/weight`) by parameter name
 * (e.g. `blocks.0.attn.q_proj.weight`). Parameters without a gradient (frozen, or unused by the loss) are
 * left out. Returns the same tensors: the caller still owns and disposes `grads`.
 */
export function gradsByParamName(
  params: ReadonlyArray<readonly [string, tf.Variable]>,
  grads: Readonly<Record<string, tf.Tensor>>,
): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, variable] of params) {
    const grad = grads[variable.name];
    if (grad !== undefined) out.set(name, grad);
  }
  return out;
}
