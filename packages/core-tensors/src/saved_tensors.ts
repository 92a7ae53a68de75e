/**
 * A fast path in tfjs's engine for the tensors a kernel keeps for its gradient. tfjs saves each one with
 * `engine.clone`, which dispatches an Identity kernel and records a tape node for the copy: 783 of the
 * 2,120 kernels of a `small` phase-1 train step were those clones. On the `native` backend, for a
 * first-order gradient (tape depth 1), the saved tensor becomes an alias instead: a new handle on the
 * same data with one more backend reference. That is what the Identity kernel does, minus the dispatch
 * and the tape node.
 *
 * The tape node is only needed when the backward pass itself is taped (a higher-order gradient, tape
 * depth > 1): there the saved tensors must stay connected to the outer tape, so tfjs's clone runs as
 * before. The backward pass of a first-order gradient runs untaped (depth 0), so no gradient ever flows
 * through a saved tensor and the alias is exact.
 */
import * as tf from '@tensorflow/tfjs';

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** The parts of tfjs's Engine this touches (not in its public types). */
interface EngineInternals {
  backendName: string;
  backend: { incRef(dataId: object): void };
  state: { gradientDepth: number };
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromTensorInfo(info: TensorInfoLike, backend?: unknown): tf.Tensor;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
}

const installed = new WeakSet<object>();

/** Installs the alias path on tfjs's engine for `backendName` (idempotent). */
export function installSavedTensorAliases(backendName: string): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (installed.has(engine)) return;
  installed.add(engine);
  const clone = engine.saveTensorsForBackwardMode.bind(engine);
  engine.saveTensorsForBackwardMode = (tensors: tf.Tensor[]): tf.Tensor[] => {
    if (engine.state.gradientDepth !== 1 || engine.backendName !== backendName) return clone(tensors);
    return tensors.map((t) => {
      engine.backend.incRef(t.dataId);
      return engine.keep(
        engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }),
      );
    });
  };
}
