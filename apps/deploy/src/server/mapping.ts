/**
 * Client ↔ policy key maps. A request's images, state and prompt are found under configurable keys; the
 * gripper travels in the client's convention and is mapped to the policy's {0 open, 1 closed}.
 *
 * Defaults:
 * - openpi (LIBERO example client): `observation/image` → first camera, `observation/wrist_image` →
 *   second, `observation/state` → arm state (first S channels) and gripper (channel S), `prompt` → task;
 *   gripper convention `closed-positive` (LIBERO: −1 open, +1 close).
 * - X-VLA `/act`: `image0` → first camera, `image1` → second, `proprio` → state (+ gripper at channel S),
 *   `language_instruction` → task; gripper convention `open-positive` (CALVIN: −1 close, +1 open).
 */

import { type GripperConvention, GripperMapping } from '@anchor-refine/datasets';
import { ProtocolError } from '../protocol/ndarray.js';

export interface ClientMapping {
  /** wire key → policy camera name; every policy camera must appear once */
  images: Record<string, string>;
  /** wire key of the state vector (raw units, arm state first) */
  state: string;
  /** wire key of the instruction */
  prompt: string;
  /** used when a request has no prompt */
  defaultPrompt: string;
  /** index of the gripper channel in the wire state; null = no gripper in the state (taken as open) */
  gripperStateIndex: number | null;
  /** the client's gripper convention, for the state channel and the returned actions */
  gripper: GripperConvention;
}

export interface MappingInfo {
  cameras: string[];
  stateDim: number;
}

export function openpiDefaults(info: MappingInfo): ClientMapping {
  const [c0, c1] = info.cameras;
  const images: Record<string, string> = { 'observation/image': c0 };
  if (c1) images['observation/wrist_image'] = c1;
  return {
    images,
    state: 'observation/state',
    prompt: 'prompt',
    defaultPrompt: '',
    gripperStateIndex: info.stateDim,
    gripper: 'closed-positive',
  };
}

export function xvlaDefaults(info: MappingInfo): ClientMapping {
  const images: Record<string, string> = {};
  info.cameras.forEach((c, i) => {
    images[`image${i}`] = c;
  });
  return {
    images,
    state: 'proprio',
    prompt: 'language_instruction',
    defaultPrompt: '',
    gripperStateIndex: info.stateDim,
    gripper: 'open-positive',
  };
}

/** Overrides on top of defaults, validated; errors name the field (`openpi.images`, …). */
export function resolveMapping(
  base: ClientMapping,
  over: Partial<ClientMapping> | undefined,
  info: MappingInfo,
  field: string,
): ClientMapping {
  const m: ClientMapping = { ...base, ...(over ?? {}) };
  const bad = (f: string, msg: string) => new Error(`deploy config: ${field}.${f} ${msg}`);
  if (typeof m.images !== 'object' || m.images === null)
    throw bad('images', 'must map wire keys to camera names');
  const targets = Object.values(m.images);
  for (const cam of info.cameras)
    if (targets.filter((t) => t === cam).length !== 1)
      throw bad(
        'images',
        `must map exactly one wire key to policy camera '${cam}' (cameras: ${info.cameras.join(', ')})`,
      );
  for (const t of targets)
    if (!info.cameras.includes(t))
      throw bad('images', `names unknown camera '${t}' (cameras: ${info.cameras.join(', ')})`);
  for (const f of ['state', 'prompt'] as const)
    if (typeof m[f] !== 'string' || m[f].length === 0) throw bad(f, 'must be a non-empty string');
  if (typeof m.defaultPrompt !== 'string') throw bad('defaultPrompt', 'must be a string');
  if (m.gripperStateIndex !== null && (!Number.isInteger(m.gripperStateIndex) || m.gripperStateIndex < 0))
    throw bad('gripperStateIndex', 'must be a non-negative integer or null');
  new GripperMapping({ convention: m.gripper }, `${field}.gripper`);
  return m;
}

/** Reads the gripper state channel as 1 = closed / 0 = open. */
export function gripperFromState(m: ClientMapping, state: Float32Array): number {
  if (m.gripperStateIndex === null || m.gripperStateIndex >= state.length) return 0;
  const v = state[m.gripperStateIndex];
  if (!Number.isFinite(v))
    throw new ProtocolError(`${m.state}[${m.gripperStateIndex}]`, 'gripper state is not finite');
  return new GripperMapping({ convention: m.gripper }).toBinary(v);
}

/** A chunk as [H, armDim + 1] float32 rows: arm then the gripper in the client's convention. */
export function chunkToActions(
  m: ClientMapping,
  chunk: { arm: Float32Array; gripper: Uint8Array; horizon: number; armDim: number },
): Float32Array {
  const g = new GripperMapping({ convention: m.gripper });
  const d = chunk.armDim + 1;
  const out = new Float32Array(chunk.horizon * d);
  for (let t = 0; t < chunk.horizon; t++) {
    out.set(chunk.arm.subarray(t * chunk.armDim, (t + 1) * chunk.armDim), t * d);
    out[t * d + chunk.armDim] = g.fromBinary(chunk.gripper[t]);
  }
  return out;
}
