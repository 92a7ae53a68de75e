/**
 * Training batches as plain typed arrays (what `@anchor-refine/datasets`' sampler yields and what crosses
 * worker threads) and their conversion to the tensors the model reads. Everything is already normalized;
 * the gripper is in {0,1} with 1 = closed.
 */
import type { ObservationTensors } from '@anchor-refine/backbones';
import * as tf from '@tensorflow/tfjs';

export interface ArrayWithShape<T, S extends number[]> {
  data: T;
  shape: S;
}

export interface PolicyBatch {
  /** camera → uint8 (0–255) or float32 (0–1) [B, L, Hi, Wi, 3] */
  images: Record<string, ArrayWithShape<Uint8Array | Float32Array, [number, number, number, number, number]>>;
  /** normalized arm state [B, L, S] */
  state: ArrayWithShape<Float32Array, [number, number, number]>;
  /** [B, L] in {0,1} */
  gripperState: Float32Array;
  /** [B, L] 1 = real frame (left-aligned) */
  historyMask: Uint8Array;
  /** [B, L, H, D]: normalized arm channels, then the gripper label in {0,1} */
  actions: ArrayWithShape<Float32Array, [number, number, number, number]>;
  /** [B, L, H] 1 = valid action */
  actionMask: Uint8Array;
  /** instruction per sample */
  tasks: string[];
  /**
   * camera → the frame `video.offset` steps after each history slot's (the episode's last at its end), same
   * layout as `images`: the future-frame target of phase 1. Absent = no video objective.
   */
  futureImages?: PolicyBatch['images'];
}

export interface BatchTensors {
  obs: ObservationTensors;
  /** [B, L, H, D−1] */
  arm: tf.Tensor;
  /** [B, L, H] */
  gripper: tf.Tensor;
  /** [B, L, H] float 1 = valid (history-padded slots are 0 too) */
  mask: tf.Tensor;
  /** camera → [B, L, S, S, 3] float in [0, 1]: the future frames of `PolicyBatch.futureImages` */
  future?: Record<string, tf.Tensor>;
}

/** uint8 0–255 → float32 0–1 (one pass; float input is taken as is). */
export function imagesToFloat(data: Uint8Array | Float32Array): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 255;
  return out;
}

function expectLength(field: string, got: number, want: number, shape: readonly number[]): void {
  if (got !== want) {
    throw new Error(`PolicyBatch.${field}: ${got} values do not fill shape [${shape.join(', ')}] (${want})`);
  }
}

/** Validates a batch against the model's layout and builds its tensors (the caller disposes them). */
export function batchToTensors(
  batch: PolicyBatch,
  layout: { cameras: readonly string[]; history: number; horizon: number; stateDim: number; armDim: number },
  tokenize: (texts: readonly string[]) => tf.Tensor2D,
): BatchTensors {
  const [b, l, h, d] = batch.actions.shape;
  const want = `[B, ${layout.history}, ${layout.horizon}, ${layout.armDim + 1}]`;
  if (l !== layout.history || h !== layout.horizon || d !== layout.armDim + 1) {
    throw new Error(`PolicyBatch.actions: shape must be ${want}, got [${batch.actions.shape.join(', ')}]`);
  }
  expectLength('actions', batch.actions.data.length, b * l * h * d, batch.actions.shape);
  const [sb, sl, ss] = batch.state.shape;
  if (sb !== b || sl !== l || ss !== layout.stateDim) {
    throw new Error(
      `PolicyBatch.state: shape must be [${b}, ${l}, ${layout.stateDim}], got [${batch.state.shape.join(', ')}]`,
    );
  }
  expectLength('state', batch.state.data.length, b * l * ss, batch.state.shape);
  expectLength('gripperState', batch.gripperState.length, b * l, [b, l]);
  expectLength('historyMask', batch.historyMask.length, b * l, [b, l]);
  expectLength('actionMask', batch.actionMask.length, b * l * h, [b, l, h]);
  if (batch.tasks.length !== b)
    throw new Error(`PolicyBatch.tasks: ${batch.tasks.length} strings for batch size ${b}`);
  const checkImages = (field: 'images' | 'futureImages', set: PolicyBatch['images']) => {
    for (const cam of layout.cameras) {
      const img = set[cam];
      if (!img)
        throw new Error(
          `PolicyBatch.${field}: missing camera '${cam}' (have: ${Object.keys(set).join(', ')})`,
        );
      const want = field === 'images' ? [b, l] : batch.images[cam].shape;
      if (want.some((n, i) => img.shape[i] !== n) || img.shape.length !== 5) {
        throw new Error(
          `PolicyBatch.${field}.${cam}: shape must start [${want.join(', ')}], got [${img.shape.join(', ')}]`,
        );
      }
      expectLength(
        `${field}.${cam}`,
        img.data.length,
        img.shape.reduce((x, y) => x * y, 1),
        img.shape,
      );
    }
  };
  checkImages('images', batch.images);
  if (batch.futureImages) checkImages('futureImages', batch.futureImages);
  return tf.tidy(() => {
    const toFloat = (set: PolicyBatch['images']) =>
      Object.fromEntries(
        layout.cameras.map((cam) => [
          cam,
          tf.tensor(imagesToFloat(set[cam].data), set[cam].shape, 'float32'),
        ]),
      );
    const images = toFloat(batch.images);
    const future = batch.futureImages ? toFloat(batch.futureImages) : undefined;
    const historyMask = tf.tensor2d(batch.historyMask, [b, l], 'bool');
    const actions = tf.tensor4d(batch.actions.data, [b, l, h, d]);
    const arm = tf.slice(actions, [0, 0, 0, 0], [b, l, h, d - 1]); // [B, L, H, D−1]
    const gripper = tf.reshape(tf.slice(actions, [0, 0, 0, d - 1], [b, l, h, 1]), [b, l, h]); // [B, L, H]
    const slotValid = tf.expandDims(tf.cast(historyMask, 'float32'), 2); // [B, L, 1]
    const mask = tf.mul(tf.tensor3d(Float32Array.from(batch.actionMask), [b, l, h]), slotValid); // [B, L, H]
    const obs: ObservationTensors = {
      images,
      state: tf.tensor3d(batch.state.data, [b, l, ss]),
      gripperState: tf.tensor2d(batch.gripperState, [b, l]),
      language: tokenize(batch.tasks),
      historyMask,
    };
    return { obs, arm, gripper, mask, ...(future ? { future } : {}) } as unknown as tf.TensorContainer;
  }) as unknown as BatchTensors;
}

export function disposeBatchTensors(t: BatchTensors): void {
  tf.dispose([
    ...Object.values(t.obs.images),
    t.obs.state,
    t.obs.gripperState,
    t.obs.language,
    t.obs.historyMask,
  ]);
  tf.dispose([t.arm, t.gripper, t.mask, ...Object.values(t.future ?? {})]);
}
