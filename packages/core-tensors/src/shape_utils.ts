/** Small shape helpers shared by the kernels, gradients and ops (pure functions over number[]). */

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2,3,4]` → `"[2,3,4]"`, for error messages. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Row-major element strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** numpy broadcast of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Left-pads `shape` with 1s to `rank`. */
export function padShape(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(Math.max(0, rank - shape.length)).fill(1), ...shape];
}

/**
 * For every flat index of the broadcast batch shape `out`, the flat index of the operand batch with
 * shape `operand` (right-aligned, size-1 dims broadcast). Returns null when the map is the identity.
 */
export function broadcastIndexMap(operand: readonly number[], out: readonly number[]): Int32Array | null {
  const total = sizeOf(out);
  if (sizeOf(operand) === total) return null;
  const padded = padShape(operand, out.length);
  const opStrides = stridesOf(padded);
  const map = new Int32Array(total);
  const idx = new Array<number>(out.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    let src = 0;
    for (let d = 0; d < out.length; d++) if (padded[d] !== 1) src += idx[d] * opStrides[d];
    map[flat] = src;
    for (let d = out.length - 1; d >= 0; d--) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return map;
}

/**
 * Axes of `out` that a tensor of shape `input` was broadcast along (leading extra axes and size-1 axes
 * of `input` where `out` is larger): summing a gradient of shape `out` over them and reshaping gives `input`.
 */
export function broadcastReductionAxes(input: readonly number[], out: readonly number[]): number[] {
  const axes: number[] = [];
  const lead = out.length - input.length;
  for (let i = 0; i < out.length; i++) {
    if (i < lead) axes.push(i);
    else if (input[i - lead] === 1 && out[i] !== 1) axes.push(i);
  }
  return axes;
}
