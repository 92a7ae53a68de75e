/**
 * Memory layouts of multi-head attention operands and their element strides over (batch, head, token)
 * as the native kernel takes them (ct_attention_desc.q_strides …; the headDim axis is contiguous).
 */
import type { LayoutStrides } from '../addon.js';

/**
 * How q, k, v and the output of `fusedAttention` hold their heads:
 * - `bhtd`: [batch, heads, len, headDim] (the default; what splitting heads with a transpose gives);
 * - `bthd`: [batch, len, heads, headDim] (a [B, T, H·D] projection reshaped, no transpose).
 */
export type AttentionLayout = 'bhtd' | 'bthd';

export const ATTENTION_LAYOUTS: readonly AttentionLayout[] = ['bhtd', 'bthd'];

/** The axis names of a rank-4 operand in `layout` (len = Tq for q and the output, Tk for k and v). */
export function layoutAxes(layout: AttentionLayout, len = 'len'): string {
  return layout === 'bhtd' ? `[batch, heads, ${len}, headDim]` : `[batch, ${len}, heads, headDim]`;
}

/** Strides of a [B, T, H, D] operand over (batch, head, token). */
export function bthdStrides(len: number, heads: number, headDim: number): LayoutStrides {
  return [len * heads * headDim, headDim, heads * headDim];
}

/**
 * Strides of q, k and v inside a packed [B, T, 3, H, D] (= [B, T, 3·H·D]) buffer over (batch, head,
 * token): k starts heads·headDim elements after q, v 2·heads·headDim after.
 */
export function packedQkvStrides(len: number, heads: number, headDim: number): LayoutStrides {
  return [len * 3 * heads * headDim, headDim, 3 * heads * headDim];
}
