/**
 * Argument checks shared by `fusedAttention`, its reference and the FusedAttention kernels, so every
 * path rejects the same inputs with the same message (op name + every shape involved).
 */
import type { DataType } from '@tensorflow/tfjs';
import { padShape, shapeStr, stridesOf } from '../shape_utils.js';

export interface ShapedLike {
  shape: number[];
  dtype: DataType;
}

export interface AttentionDims {
  batch: number;
  heads: number;
  qLen: number;
  kLen: number;
  headDim: number;
}

function describe(q: ShapedLike, k: ShapedLike, v: ShapedLike, mask?: ShapedLike, bias?: ShapedLike): string {
  let s = `q ${shapeStr(q.shape)} ${q.dtype}, k ${shapeStr(k.shape)} ${k.dtype}, v ${shapeStr(v.shape)} ${v.dtype}`;
  if (mask) s += `, keyPaddingMask ${shapeStr(mask.shape)} ${mask.dtype}`;
  if (bias) s += `, bias ${shapeStr(bias.shape)} ${bias.dtype}`;
  return s;
}

/** Throws an Error naming `op` and every shape unless q/k/v/mask/bias form a valid attention call. */
export function validateAttention(
  op: string,
  q: ShapedLike,
  k: ShapedLike,
  v: ShapedLike,
  mask?: ShapedLike,
  bias?: ShapedLike,
  scale?: number,
): AttentionDims {
  const fail = (why: string): never => {
    throw new Error(`${op}: ${why} (got ${describe(q, k, v, mask, bias)})`);
  };
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.shape.length !== 4) fail(`${name} must have rank 4 [batch, heads, len, headDim]`);
    if (t.dtype !== 'float32') fail(`${name} must be float32`);
  }
  const [batch, heads, qLen, headDim] = q.shape;
  const kLen = k.shape[2];
  if (k.shape[0] !== batch || k.shape[1] !== heads || k.shape[3] !== headDim) {
    fail('k must be [batch, heads, kLen, headDim] with the batch, heads and headDim of q');
  }
  if (v.shape.some((d, i) => d !== k.shape[i])) fail('v must have the shape of k');
  if (mask) {
    if (mask.shape.length !== 2 || mask.shape[0] !== batch || mask.shape[1] !== kLen) {
      fail('keyPaddingMask must be [batch, kLen]');
    }
    if (mask.dtype === 'string' || mask.dtype === 'complex64') fail('keyPaddingMask must be bool or numeric');
  }
  if (bias) {
    if (bias.dtype !== 'float32') fail('bias must be float32');
    if (bias.shape.length > 4) fail('bias must have rank <= 4');
    const full = [batch, heads, qLen, kLen];
    const padded = padShape(bias.shape, 4);
    if (padded.some((d, i) => d !== 1 && d !== full[i])) {
      fail(`bias must broadcast to [batch, heads, qLen, kLen] = ${shapeStr(full)}`);
    }
  }
  if (scale !== undefined && !Number.isFinite(scale)) fail(`scale must be a finite number, got ${scale}`);
  return { batch, heads, qLen, kLen, headDim };
}

/** Element strides of a bias of `shape` over (batch, heads, q, k); broadcast dims get stride 0. */
export function biasStrides(shape: readonly number[]): [number, number, number, number] {
  const padded = padShape(shape, 4);
  const s = stridesOf(padded);
  return [0, 1, 2, 3].map((i) => (padded[i] === 1 ? 0 : s[i])) as [number, number, number, number];
}
