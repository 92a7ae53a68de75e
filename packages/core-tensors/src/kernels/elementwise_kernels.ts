/**
 * Factories for the native elementwise / reduction / transpose kernels (ct_binary_run, ct_unary_run,
 * ct_reduce_run, ct_transpose_run). float32 inputs of rank <= 6 run natively; every other dtype
 * (int32, bool, complex64) and larger ranks go to the saved tfjs-cpu kernel of the same name, so the
 * `native` backend keeps tfjs-cpu's exact semantics there.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type BinaryOp, loadAddon, NATIVE_MAX_RANK, ReduceOp, type UnaryOp } from '../addon.js';
import { outputF32 } from '../buffer_pool.js';
import { broadcastShapes, shapeStr, sizeOf } from '../shape_utils.js';
import { cpuKernel, f32 } from './kernel_utils.js';

const native = (t: TensorInfo): boolean => t.dtype === 'float32' && t.shape.length <= NATIVE_MAX_RANK;

/**
 * Outputs up to this many elements stay in tfjs-cpu's JS loop: one N-API call costs a few µs (argument
 * conversion and validation), which the JS loop beats for tiny tensors (bench: "dispatch overhead").
 */
let smallElementwise = 1024;

/** Sets that cutoff (0 sends every float32 elementwise op to the addon, as the kernel tests do); returns
 *  the previous value. */
export function setSmallElementwiseCutoff(n: number): number {
  const previous = smallElementwise;
  smallElementwise = Math.max(0, Math.floor(n));
  return previous;
}

/** Add, Sub, Multiply, RealDiv, Maximum, Minimum, SquaredDifference: inputs {a, b}, numpy broadcasting. */
export function binaryKernel(kernelName: string, op: BinaryOp): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!native(a) || !native(b)) return cpuKernel(kernelName)(args);
    const outShape = broadcastShapes(a.shape, b.shape);
    if (outShape === undefined) {
      throw new Error(
        `${kernelName}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} are not broadcast-compatible`,
      );
    }
    const size = sizeOf(outShape);
    if (size <= smallElementwise) return cpuKernel(kernelName)(args);
    const cpu = args.backend as MathBackendCPU;
    const out = outputF32(cpu, size);
    loadAddon().binaryRun(op, f32(cpu, a), a.shape, f32(cpu, b), b.shape, out);
    return cpu.makeTensorInfo(outShape, 'float32', out);
  };
  return { kernelName, backendName: 'native', kernelFunc };
}

/** Exp, Log, Neg, Sqrt, Rsqrt, Square, Tanh, Sigmoid, Relu, Erf, Abs: input {x}, same shape out. */
export function unaryKernel(kernelName: string, op: UnaryOp): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const size = sizeOf(x.shape);
    if (x.dtype !== 'float32' || size <= smallElementwise) return cpuKernel(kernelName)(args);
    const cpu = args.backend as MathBackendCPU;
    const out = outputF32(cpu, size);
    loadAddon().unaryRun(op, f32(cpu, x), out);
    return cpu.makeTensorInfo(x.shape, 'float32', out);
  };
  return { kernelName, backendName: 'native', kernelFunc };
}

/**
 * Sum and Mean (attrs {axis, keepDims}) and Max (attrs {reductionIndices, keepDims}): a direct strided
 * reduction, no transpose. Mean and Max of an empty reduction go to tfjs-cpu (its conventions there).
 */
export function reduceKernel(
  kernelName: string,
  op: ReduceOp,
  axisAttr: 'axis' | 'reductionIndices',
): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as Record<string, unknown>;
    if (!native(x)) return cpuKernel(kernelName)(args);
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const reduced = new Array<boolean>(x.shape.length).fill(false);
    for (const a of axes) {
      if (reduced[a]) throw new Error(`${kernelName}: axis ${a} is repeated (x ${shapeStr(x.shape)})`);
      reduced[a] = true;
    }
    if (op !== ReduceOp.sum && sizeOf(x.shape) === 0) return cpuKernel(kernelName)(args);
    const kept = x.shape.filter((_, i) => !reduced[i]);
    const cpu = args.backend as MathBackendCPU;
    const out = outputF32(cpu, sizeOf(kept));
    loadAddon().reduceRun(op, f32(cpu, x), x.shape, axes, out);
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (reduced[i] ? 1 : d)) : kept;
    return cpu.makeTensorInfo(outShape, 'float32', out);
  };
  return { kernelName, backendName: 'native', kernelFunc };
}

/** Transpose (attrs {perm}). */
export function transposeKernel(): KernelConfig {
  const kernelName = 'Transpose';
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as { perm: number[] };
    if (!native(x)) return cpuKernel(kernelName)(args);
    if (perm.length !== x.shape.length) {
      throw new Error(`${kernelName}: perm [${perm}] does not match x ${shapeStr(x.shape)}`);
    }
    const cpu = args.backend as MathBackendCPU;
    const outShape = perm.map((p) => x.shape[p]);
    const out = outputF32(cpu, sizeOf(outShape));
    loadAddon().transposeRun(f32(cpu, x), x.shape, perm, out);
    return cpu.makeTensorInfo(outShape, 'float32', out);
  };
  return { kernelName, backendName: 'native', kernelFunc };
}
