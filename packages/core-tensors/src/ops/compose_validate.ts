/**
 * Argument checks shared by `composeResidual`, its reference and the ComposeResidual kernels.
 */
import { shapeStr } from '../shape_utils.js';
import type { ShapedLike } from './attention_validate.js';

export interface ComposeDims {
  rows: number;
  armDim: number;
}

export interface ComposeShapes {
  anchor: ShapedLike;
  delta?: ShapedLike;
  gripLogit: ShapedLike;
  gripDelta?: ShapedLike;
  /** Per-arm-dim vectors (scale/shift or mean/std or q01/q99, low/high), each must be [armDim]. */
  vectors?: Record<string, ShapedLike | undefined>;
}

export function validateCompose(op: string, s: ComposeShapes): ComposeDims {
  const parts = [`anchor ${shapeStr(s.anchor.shape)} ${s.anchor.dtype}`];
  if (s.delta) parts.push(`delta ${shapeStr(s.delta.shape)} ${s.delta.dtype}`);
  parts.push(`gripLogit ${shapeStr(s.gripLogit.shape)} ${s.gripLogit.dtype}`);
  if (s.gripDelta) parts.push(`gripDelta ${shapeStr(s.gripDelta.shape)} ${s.gripDelta.dtype}`);
  for (const [name, v] of Object.entries(s.vectors ?? {})) if (v) parts.push(`${name} ${shapeStr(v.shape)}`);
  const fail = (why: string): never => {
    throw new Error(`${op}: ${why} (got ${parts.join(', ')})`);
  };
  const { anchor, delta, gripLogit, gripDelta } = s;
  if (anchor.shape.length < 1) fail('anchor must have rank >= 1 [..., armDim]');
  const lead = anchor.shape.slice(0, -1);
  const armDim = anchor.shape[anchor.shape.length - 1];
  for (const [name, t] of [
    ['anchor', anchor],
    ['delta', delta],
    ['gripLogit', gripLogit],
    ['gripDelta', gripDelta],
  ] as const) {
    if (t && t.dtype !== 'float32') fail(`${name} must be float32`);
  }
  if (delta && delta.shape.join(',') !== anchor.shape.join(',')) fail('delta must have the shape of anchor');
  if (gripLogit.shape.join(',') !== lead.join(',')) {
    fail(`gripLogit must have anchor's leading shape ${shapeStr(lead)}`);
  }
  if (gripDelta && gripDelta.shape.join(',') !== gripLogit.shape.join(',')) {
    fail('gripDelta must have the shape of gripLogit');
  }
  for (const [name, v] of Object.entries(s.vectors ?? {})) {
    if (!v) continue;
    if (v.shape.length !== 1 || v.shape[0] !== armDim) fail(`${name} must be [armDim] = [${armDim}]`);
    if (v.dtype !== 'float32') fail(`${name} must be float32`);
  }
  let rows = 1;
  for (const d of lead) rows *= d;
  return { rows, armDim };
}
