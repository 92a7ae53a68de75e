/** Turns a decoded request (openpi or X-VLA) into a `PolicyObservation`, validating every field. */

import { decodeImage, resizeBilinear } from '@anchor-refine/datasets';
import type { PolicyObservation } from '@anchor-refine/policy';
import { type NdArray, ProtocolError, toFloat32 } from '../protocol/ndarray.js';
import { checkEncodedImage, checkPixels } from './image-limits.js';
import { type ClientMapping, gripperFromState } from './mapping.js';

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

/**
 * HWC uint8 RGB (or a 1-D PNG/JPEG buffer) → the policy's square image size. Images over `maxPixels`
 * are refused before anything is decoded or resized (see image-limits.ts).
 */
export function toPolicyImage(
  a: NdArray,
  field: string,
  size: number,
  maxPixels: number,
): PolicyObservation['images'][string] {
  let img: { data: Uint8Array; height: number; width: number };
  if (a.shape.length === 1 && a.data instanceof Uint8Array) {
    checkEncodedImage(a.data, field, maxPixels);
    try {
      img = decodeImage(a.data);
    } catch (err) {
      throw new ProtocolError(
        field,
        `1-D uint8 data is not a decodable PNG/JPEG (${(err as Error).message})`,
      );
    }
  } else {
    if (!(a.data instanceof Uint8Array) || a.dtype.endsWith('b1'))
      throw new ProtocolError(`${field}.dtype`, `images must be uint8 ('|u1'), got '${a.dtype}'`);
    if (a.shape.length !== 3 || a.shape[2] !== 3 || a.shape[0] === 0 || a.shape[1] === 0)
      throw new ProtocolError(
        `${field}.shape`,
        `images must be [H, W, 3] (HWC RGB), got [${a.shape.join(', ')}]`,
      );
    checkPixels(a.shape[0], a.shape[1], field, maxPixels);
    img = { data: a.data, height: a.shape[0], width: a.shape[1] };
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

/**
 * Builds the observation. `parse` turns a wire value into an NdArray (msgpack-numpy values are already
 * NdArray; X-VLA's are json-numpy strings).
 */
export function toObservation(
  req: Record<string, unknown>,
  m: ClientMapping,
  shape: ObservationShape,
  parse: ArrayParser,
  limits: ObservationLimits,
): PolicyObservation {
  const images: PolicyObservation['images'] = {};
  for (const [key, cam] of Object.entries(m.images)) {
    if (!Object.hasOwn(req, key)) throw new ProtocolError(key, `missing (image for camera '${cam}')`);
    images[cam] = toPolicyImage(parse(req[key], key), key, shape.imageSize, limits.maxImagePixels);
  }
  if (!Object.hasOwn(req, m.state)) throw new ProtocolError(m.state, 'missing (state vector)');
  const sArr = parse(req[m.state], m.state);
  const state = toFloat32(sArr);
  if (sArr.shape.length !== 1)
    throw new ProtocolError(`${m.state}.shape`, `must be 1-D, got [${sArr.shape.join(', ')}]`);
  if (state.length < shape.stateDim)
    throw new ProtocolError(
      m.state,
      `has ${state.length} values; the policy needs at least ${shape.stateDim}`,
    );
  const armState = state.slice(0, shape.stateDim);
  for (let i = 0; i < armState.length; i++)
    if (!Number.isFinite(armState[i])) throw new ProtocolError(`${m.state}[${i}]`, 'is not finite');
  const p = Object.hasOwn(req, m.prompt) ? req[m.prompt] : m.defaultPrompt;
  if (typeof p !== 'string') throw new ProtocolError(m.prompt, 'must be a string');
  return { images, state: armState, gripperState: gripperFromState(m, state), task: p };
}
