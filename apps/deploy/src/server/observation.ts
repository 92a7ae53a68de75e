/** Turns a decoded request (openpi or X-VLA) into a `PolicyObservation`, validating every field. */

import { decodeImage, resizeBilinear } from '@anchor-refine/datasets';
import type { PolicyObservation } from '@anchor-refine/policy';
import { type NdArray, ProtocolError, toFloat32 } from '../protocol/ndarray.js';
import { checkEncodedImage, checkPixels } from './image-limits.js';
import { type ImageLayout, lookup, type ResolvedMapping } from './mapping.js';

export interface ObservationShape {
  cameras: string[];
  imageSize: number;
  stateDim: number;
}

export interface ObservationLimits {
  /** largest image accepted, width × height */
  maxImagePixels: number;
}

export type ArrayParser = (value: unknown, field: string) => NdArray;

type Image = PolicyObservation['images'][string];

/** [3, H, W] planes → [H, W, 3] pixels (a fresh buffer). */
function chwToHwc(src: Uint8Array, height: number, width: number): Uint8Array {
  const n = height * width;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    const plane = src.subarray(c * n, (c + 1) * n);
    for (let i = 0; i < n; i++) out[3 * i + c] = plane[i];
  }
  return out;
}

/** The array's layout: `hwc`/`chw` as configured, or (`auto`) HWC when the last axis is 3, else CHW. */
function layoutOf(shape: number[], layout: ImageLayout): 'hwc' | 'chw' | null {
  if (shape.length !== 3) return null;
  const hwc = shape[2] === 3;
  const chw = shape[0] === 3;
  if (layout === 'hwc') return hwc ? 'hwc' : null;
  if (layout === 'chw') return chw ? 'chw' : null;
  return hwc ? 'hwc' : chw ? 'chw' : null;
}

/**
 * An RGB uint8 image (HWC [H, W, 3] or CHW [3, H, W], or a 1-D PNG/JPEG buffer) → the policy's square
 * image size. Images over `maxPixels` are refused before anything is decoded or resized.
 */
export function toPolicyImage(
  a: NdArray,
  field: string,
  size: number,
  maxPixels: number,
  layout: ImageLayout = 'auto',
): Image {
  let img: { data: Uint8Array; height: number; width: number };
  if (a.shape.length === 1 && a.data instanceof Uint8Array) {
    checkEncodedImage(a.data, field, maxPixels);
    try {
      img = decodeImage(a.data, { maxImagePixels: maxPixels, field });
    } catch (err) {
      throw new ProtocolError(
        field,
        `1-D uint8 data is not a decodable PNG/JPEG (${(err as Error).message})`,
      );
    }
  } else {
    if (!(a.data instanceof Uint8Array) || a.dtype.endsWith('b1'))
      throw new ProtocolError(`${field}.dtype`, `images must be uint8 ('|u1'), got '${a.dtype}'`);
    const l = layoutOf(a.shape, layout);
    const [h, w] = l === 'chw' ? [a.shape[1], a.shape[2]] : [a.shape[0], a.shape[1]];
    if (l === null || h === 0 || w === 0)
      throw new ProtocolError(
        `${field}.shape`,
        `images must be [H, W, 3] (HWC RGB)${layout === 'hwc' ? '' : ' or [3, H, W] (CHW RGB)'}, got [${a.shape.join(', ')}]`,
      );
    checkPixels(h, w, field, maxPixels);
    img = { data: l === 'chw' ? chwToHwc(a.data, h, w) : a.data, height: h, width: w };
  }
  const out = resizeBilinear(img, size, size);
  // Already the policy's size: resizeBilinear hands back the input, which may be a view on a whole
  // request message (msgpack-numpy or decoded base64). Copy it, so that the observation kept in the
  // connection's history and cloned to the worker is the image alone.
  const d = out.data;
  if (out === img && (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength))
    return { data: d.slice(), height: out.height, width: out.width };
  return out;
}

/** The state keys' arrays, each 1-D, concatenated in order; `fieldOf(i)` names channel i's source. */
function readState(
  req: Record<string, unknown>,
  keys: string[],
  parse: ArrayParser,
): { state: Float32Array; fieldOf: (i: number) => string } {
  const parts: Array<{ key: string; values: Float32Array }> = [];
  for (const key of keys) {
    const v = lookup(req, key);
    if (!v.found) throw new ProtocolError(key, 'missing (state vector)');
    const arr = parse(v.value, key);
    const values = toFloat32(arr);
    if (arr.shape.length !== 1)
      throw new ProtocolError(`${key}.shape`, `must be 1-D, got [${arr.shape.join(', ')}]`);
    parts.push({ key, values });
  }
  if (parts.length === 1) return { state: parts[0].values, fieldOf: (i) => `${keys[0]}[${i}]` };
  const state = new Float32Array(parts.reduce((n, p) => n + p.values.length, 0));
  const starts: number[] = [];
  let o = 0;
  for (const p of parts) {
    starts.push(o);
    state.set(p.values, o);
    o += p.values.length;
  }
  const fieldOf = (i: number) => {
    let k = parts.length - 1;
    while (k > 0 && starts[k] > i) k--;
    return `${parts[k].key}[${i - starts[k]}]`;
  };
  return { state, fieldOf };
}

/**
 * Builds the observation. `parse` turns a wire value into an NdArray (msgpack-numpy values are already
 * NdArray; X-VLA's are json-numpy strings).
 */
export function toObservation(
  req: Record<string, unknown>,
  m: ResolvedMapping,
  shape: ObservationShape,
  parse: ArrayParser,
  limits: ObservationLimits,
): PolicyObservation {
  const images: PolicyObservation['images'] = {};
  for (const [key, cam] of Object.entries(m.images)) {
    const v = lookup(req, key);
    if (!v.found) throw new ProtocolError(key, `missing (image for camera '${cam}')`);
    images[cam] = toPolicyImage(
      parse(v.value, key),
      key,
      shape.imageSize,
      limits.maxImagePixels,
      m.imageLayout,
    );
  }
  const { state, fieldOf } = readState(req, m.state, parse);
  const stateName = m.state.join(' + ');
  if (state.length < shape.stateDim)
    throw new ProtocolError(
      stateName,
      `has ${state.length} values; the policy needs at least ${shape.stateDim}`,
    );
  const armState = state.slice(0, shape.stateDim);
  for (let i = 0; i < armState.length; i++)
    if (!Number.isFinite(armState[i])) throw new ProtocolError(fieldOf(i), 'is not finite');
  let gripperState = 0;
  const gi = m.gripperStateIndex;
  if (gi !== null && gi < state.length) {
    if (!Number.isFinite(state[gi])) throw new ProtocolError(fieldOf(gi), 'gripper state is not finite');
    gripperState = m.stateGripper.toBinary(state[gi]);
  }
  const p = lookup(req, m.prompt);
  const prompt = p.found ? p.value : m.defaultPrompt;
  if (typeof prompt !== 'string') throw new ProtocolError(m.prompt, 'must be a string');
  return { images, state: armState, gripperState, task: prompt };
}
