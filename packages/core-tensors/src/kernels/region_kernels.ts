/**
 * Slice, PadV2, SplitV and Concat (native) on one addon primitive, regionCopy (ct_region_copy): Slice copies the box
 * [begin, begin + size) out of x; PadV2 fills the output with the pad value and copies x into the box at
 * the `before` paddings. Each is the other's gradient in tfjs, so both directions run natively. tfjs-cpu
 * handles them with per-element index arithmetic unless the slice is contiguous. Non-float32 dtypes and
 * rank > 6 go to the tfjs-cpu kernels.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon, NATIVE_MAX_RANK } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { sizeOf } from '../shape_utils.js';
import { cpuKernel, f32 } from './kernel_utils.js';

const native = (t: TensorInfo): boolean => t.dtype === 'float32' && t.shape.length <= NATIVE_MAX_RANK;

const slice: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (!native(x)) return cpuKernel('Slice')(args);
  const attrs = args.attrs as { begin: number | number[]; size: number | number[] };
  // resolves scalars, -1 sizes and short lists exactly as tfjs's own kernels do
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  const cpu = args.backend as MathBackendCPU;
  const out = outputF32(cpu, sizeOf(size));
  const zeros = size.map(() => 0);
  loadAddon().regionCopy(f32(cpu, x), x.shape, begin, out, size, zeros, size);
  return cpu.makeTensorInfo(size, 'float32', out);
};

const padV2: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (!native(x)) return cpuKernel('PadV2')(args);
  const { paddings, constantValue } = args.attrs as { paddings: [number, number][]; constantValue: number };
  if (paddings.length !== x.shape.length) {
    throw new Error(`PadV2: paddings has ${paddings.length} entries for an input of rank ${x.shape.length}`);
  }
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const cpu = args.backend as MathBackendCPU;
  const out = outputF32(cpu, sizeOf(outShape));
  out.fill(constantValue);
  const before = paddings.map((p) => p[0]);
  loadAddon().regionCopy(
    f32(cpu, x),
    x.shape,
    x.shape.map(() => 0),
    out,
    outShape,
    before,
    x.shape,
  );
  return cpu.makeTensorInfo(outShape, 'float32', out);
};

/** SplitV: one box copy per part (tfjs-cpu slices each part element by element when it is not contiguous). */
const splitV: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (!native(x)) return cpuKernel('SplitV')(args);
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
  const cpu = args.backend as MathBackendCPU;
  const src = f32(cpu, x);
  const begin = x.shape.map(() => 0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[$axis] = n;
    const out = outputF32(cpu, sizeOf(size));
    loadAddon().regionCopy(
      src,
      x.shape,
      begin,
      out,
      size,
      size.map(() => 0),
      size,
    );
    begin[$axis] += n;
    return cpu.makeTensorInfo(size, 'float32', out);
  });
};

/**
 * UnsortedSegmentSum (the gradient of Gather): one pass out[ids[i]] += x[i]. tfjs-cpu loops over the
 * segments and masks the whole input for each (O(N·segments)), which made an embedding's gradient the
 * most expensive op of a training step.
 */
const unsortedSegmentSum: KernelFunc = (args) => {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as { numSegments: number };
  if (x.dtype !== 'float32' || segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    return cpuKernel('UnsortedSegmentSum')(args);
  }
  const cpu = args.backend as MathBackendCPU;
  const src = f32(cpu, x);
  const ids = cpu.data.get(segmentIds.dataId).values as ArrayLike<number>;
  const row = sizeOf(x.shape.slice(1));
  const outShape = [numSegments, ...x.shape.slice(1)];
  const out = new Float32Array(numSegments * row);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
    const o = s * row;
    const xi = i * row;
    for (let j = 0; j < row; j++) out[o + j] += src[xi + j];
  }
  return cpu.makeTensorInfo(outShape, 'float32', out);
};

/** Concat: one box copy per input into its slab of the output (tfjs-cpu copies element by element off the last axis). */
const concat: KernelFunc = (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  if (inputs.length === 0 || !inputs.every(native)) return cpuKernel('Concat')(args);
  const { axis } = args.attrs as { axis: number };
  const $axis = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    $axis,
  );
  const cpu = args.backend as MathBackendCPU;
  const out = outputF32(cpu, sizeOf(outShape));
  const at = outShape.map(() => 0);
  for (const t of inputs) {
    if (sizeOf(t.shape) > 0) {
      loadAddon().regionCopy(
        f32(cpu, t),
        t.shape,
        t.shape.map(() => 0),
        out,
        outShape,
        at,
        t.shape,
      );
    }
    at[$axis] += t.shape[$axis];
  }
  return cpu.makeTensorInfo(outShape, 'float32', out);
};

export const concatConfig: KernelConfig = { kernelName: 'Concat', backendName: 'native', kernelFunc: concat };
export const splitVConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'native', kernelFunc: splitV };
export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'native',
  kernelFunc: unsortedSegmentSum,
};
export const sliceConfig: KernelConfig = { kernelName: 'Slice', backendName: 'native', kernelFunc: slice };
export const padV2Config: KernelConfig = { kernelName: 'PadV2', backendName: 'native', kernelFunc: padV2 };
