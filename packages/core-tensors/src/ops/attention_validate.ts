/**
 * Argument checks shared by `fusedAttention`, `fusedSelfAttentionPacked`, their references and their
 * kernels, so every path rejects the same inputs with the same message (op name, layout and every
 * shape involved).
 */
import type { DataType } from '@tensorflow/tfjs';
import { padShape, shapeStr, stridesOf } from '../shape_utils.js';
import { ATTENTION_LAYOUTS, type AttentionLayout, layoutAxes } from './attention_layout.js';

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

function describeExtras(mask?: ShapedLike, bias?: ShapedLike): string {
  let s = '';
  if (mask) s += `, keyPaddingMask ${shapeStr(mask.shape)} ${mask.dtype}`;
  if (bias) s += `, bias ${shapeStr(bias.shape)} ${bias.dtype}`;
  return s;
}

/** Checks keyPaddingMask, bias and scale against dims; `fail` throws with the op's message. */
function checkExtras(
  fail: (why: string) => never,
  dims: AttentionDims,
  mask?: ShapedLike,
  bias?: ShapedLike,
  scale?: number,
): void {
  const { batch, heads, qLen, kLen } = dims;
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
}

/**
 * Throws an Error naming `op`, the layout and every shape unless q/k/v/mask/bias form a valid attention
 * call: q [B,H,Tq,D] and k/v [B,H,Tk,D] in layout `bhtd`, q [B,Tq,H,D] and k/v [B,Tk,H,D] in `bthd`.
 */
export function validateAttention(
  op: string,
  q: ShapedLike,
  k: ShapedLike,
  v: ShapedLike,
  mask?: ShapedLike,
  bias?: ShapedLike,
  scale?: number,
  layout: AttentionLayout = 'bhtd',
): AttentionDims {
  const fail = (why: string): never => {
    const got = `q ${shapeStr(q.shape)} ${q.dtype}, k ${shapeStr(k.shape)} ${k.dtype}, v ${shapeStr(v.shape)} ${v.dtype}`;
    throw new Error(`${op}: ${why} (layout ${layout}; got ${got}${describeExtras(mask, bias)})`);
  };
  if (!ATTENTION_LAYOUTS.includes(layout)) fail(`layout must be one of ${ATTENTION_LAYOUTS.join(', ')}`);
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.shape.length !== 4) fail(`${name} must have rank 4 ${layoutAxes(layout)}`);
    if (t.dtype !== 'float32') fail(`${name} must be float32`);
  }
  // token and head axes of the layout
  const [ta, ha] = layout === 'bhtd' ? [2, 1] : [1, 2];
  const batch = q.shape[0];
  const heads = q.shape[ha];
  const qLen = q.shape[ta];
  const headDim = q.shape[3];
  const kLen = k.shape[ta];
  if (k.shape[0] !== batch || k.shape[ha] !== heads || k.shape[3] !== headDim) {
    fail(`k must be ${layoutAxes(layout, 'kLen')} with the batch, heads and headDim of q`);
  }
  if (v.shape.some((d, i) => d !== k.shape[i])) fail('v must have the shape of k');
  const dims = { batch, heads, qLen, kLen, headDim };
  checkExtras(fail, dims, mask, bias, scale);
  return dims;
}

/**
 * Throws an Error naming `op` and every shape unless qkv [B, T, 3·heads·headDim] (q | k | v along the
 * features, each [heads, headDim]: the [B,T,3,H,D] layout) with mask/bias forms a valid self-attention
 * call. Returns its dims (qLen = kLen = T).
 */
export function validatePackedAttention(
  op: string,
  qkv: ShapedLike,
  heads: number,
  mask?: ShapedLike,
  bias?: ShapedLike,
  scale?: number,
): AttentionDims {
  const fail = (why: string): never => {
    throw new Error(
      `${op}: ${why} (layout [B,T,3,H,D]; got qkv ${shapeStr(qkv.shape)} ${qkv.dtype}, heads ${heads}${describeExtras(mask, bias)})`,
    );
  };
  if (!Number.isInteger(heads) || heads < 1) fail('heads must be a positive integer');
  if (qkv.shape.length !== 3) fail('qkv must have rank 3 [batch, len, 3*heads*headDim]');
  if (qkv.dtype !== 'float32') fail('qkv must be float32');
  const [batch, len, features] = qkv.shape;
  if (features % (3 * heads) !== 0 || features === 0) {
    fail(
      `qkv's last dimension ${features} must be 3*heads*headDim (a positive multiple of 3*heads = ${3 * heads})`,
    );
  }
  const dims = { batch, heads, qLen: len, kLen: len, headDim: features / (3 * heads) };
  checkExtras(fail, dims, mask, bias, scale);
  return dims;
}

/** Element strides of a bias of `shape` over (batch, heads, q, k); broadcast dims get stride 0. */
export function biasStrides(shape: readonly number[]): [number, number, number, number] {
  const padded = padShape(shape, 4);
  const s = stridesOf(padded);
  return [0, 1, 2, 3].map((i) => (padded[i] === 1 ? 0 : s[i])) as [number, number, number, number];
}
