/**
 * Client ↔ policy key maps. A request's images, state and prompt are found under configurable keys; the
 * gripper travels in the client's convention and is mapped to the policy's {0 open, 1 closed}.
 *
 * Keys follow openpi's flattened-path convention: `a/b` names the field `a/b` of the request if there is
 * one, else field `b` of the nested map `a` (ALOHA sends `{"images": {"cam_high": …}}`, LIBERO sends the
 * flat key `observation/image`). `state` may list several keys, concatenated in that order (DROID sends
 * `observation/joint_position` and `observation/gripper_position`). An image target may be a camera
 * name or an index into the policy's cameras, so one config serves policies whose cameras are named
 * differently.
 *
 * Defaults:
 * - openpi (LIBERO example client): `observation/image` → first camera, `observation/wrist_image` →
 *   second, `observation/state` → arm state (first S channels) and gripper (channel S), `prompt` → task;
 *   gripper convention `closed-positive` (LIBERO: −1 open, +1 close).
 * - X-VLA `/act`: `image0` → first camera, `image1` → second, `proprio` → state (+ gripper at channel S),
 *   `language_instruction` → task; gripper convention `open-positive` (CALVIN: −1 close, +1 open).
 */

import { type GripperConvention, GripperMapping, type GripperMappingConfig } from '@anchor-refine/datasets';

export type GripperSpec = GripperConvention | GripperMappingConfig;

/** How image arrays are laid out: `auto` = [H, W, 3] as HWC, else [3, H, W] as CHW. */
export type ImageLayout = 'auto' | 'hwc' | 'chw';

/** A key map as configured (JSON config files, `ServerConfig.openpi` / `.xvla`). */
export interface ClientMapping {
  /** wire key → policy camera (name, or index into the policy's cameras); every camera appears once */
  images: Record<string, string | number>;
  /** image array layout (default `auto`) */
  imageLayout: ImageLayout;
  /** wire key(s) of the state vector (raw units, arm state first); several are concatenated in order */
  state: string | string[];
  /** wire key of the instruction */
  prompt: string;
  /** used when a request has no prompt */
  defaultPrompt: string;
  /**
   * index of the gripper channel in the (concatenated) wire state; null = no gripper in the state
   * (taken as open)
   */
  gripperStateIndex: number | null;
  /** the client's gripper convention for the returned actions (and the state, unless `stateGripper`) */
  gripper: GripperSpec;
  /** the state channel's convention when it differs from the actions' (LIBERO: finger position) */
  stateGripper?: GripperSpec;
}

/** A validated key map: camera names resolved, state keys as a list, gripper mappings built. */
export interface ResolvedMapping {
  images: Record<string, string>;
  imageLayout: ImageLayout;
  state: string[];
  prompt: string;
  defaultPrompt: string;
  gripperStateIndex: number | null;
  gripper: GripperMapping;
  stateGripper: GripperMapping;
}

const toGripperConfig = (g: GripperSpec): GripperMappingConfig =>
  typeof g === 'string' ? { convention: g } : g;

/** A request field by key: the literal key first, else the openpi path `a/b/c` through nested maps. */
export function lookup(req: Record<string, unknown>, key: string): { found: boolean; value: unknown } {
  if (Object.hasOwn(req, key)) return { found: true, value: req[key] };
  if (!key.includes('/')) return { found: false, value: undefined };
  let cur: unknown = req;
  for (const part of key.split('/')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part))
      return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
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
    imageLayout: 'auto',
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
    imageLayout: 'auto',
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
): ResolvedMapping {
  const m: ClientMapping = { ...base, ...(over ?? {}) };
  const bad = (f: string, msg: string) => new Error(`deploy config: ${field}.${f} ${msg}`);
  if (typeof m.images !== 'object' || m.images === null || Array.isArray(m.images))
    throw bad('images', 'must map wire keys to camera names or indices');
  const cams = info.cameras.join(', ');
  const images: Record<string, string> = {};
  for (const [key, t] of Object.entries(m.images)) {
    if (typeof t === 'number') {
      if (!Number.isInteger(t) || t < 0 || t >= info.cameras.length)
        throw bad(
          `images.${key}`,
          `camera index ${t} is out of range (the policy has ${info.cameras.length}: ${cams})`,
        );
      images[key] = info.cameras[t];
    } else if (typeof t === 'string') {
      if (!info.cameras.includes(t)) throw bad('images', `names unknown camera '${t}' (cameras: ${cams})`);
      images[key] = t;
    } else throw bad(`images.${key}`, 'must be a camera name or index');
  }
  const targets = Object.values(images);
  for (const cam of info.cameras)
    if (targets.filter((t) => t === cam).length !== 1)
      throw bad('images', `must map exactly one wire key to policy camera '${cam}' (cameras: ${cams})`);
  if (!['auto', 'hwc', 'chw'].includes(m.imageLayout))
    throw bad('imageLayout', `must be 'auto', 'hwc' or 'chw', got ${JSON.stringify(m.imageLayout)}`);
  const state = typeof m.state === 'string' ? [m.state] : m.state;
  if (!Array.isArray(state) || state.length === 0 || state.some((k) => typeof k !== 'string' || k === ''))
    throw bad('state', 'must be a non-empty key or a non-empty list of keys');
  if (typeof m.prompt !== 'string' || m.prompt.length === 0)
    throw bad('prompt', 'must be a non-empty string');
  if (typeof m.defaultPrompt !== 'string') throw bad('defaultPrompt', 'must be a string');
  if (m.gripperStateIndex !== null && (!Number.isInteger(m.gripperStateIndex) || m.gripperStateIndex < 0))
    throw bad('gripperStateIndex', 'must be a non-negative integer or null');
  const gripper = new GripperMapping(toGripperConfig(m.gripper), `${field}.gripper`);
  const stateGripper =
    m.stateGripper === undefined
      ? gripper
      : new GripperMapping(toGripperConfig(m.stateGripper), `${field}.stateGripper`);
  return {
    images,
    imageLayout: m.imageLayout,
    state: [...state],
    prompt: m.prompt,
    defaultPrompt: m.defaultPrompt,
    gripperStateIndex: m.gripperStateIndex,
    gripper,
    stateGripper,
  };
}

/** A chunk as [H, armDim + 1] float32 rows: arm then the gripper in the client's convention. */
export function chunkToActions(
  m: ResolvedMapping,
  chunk: { arm: Float32Array; gripper: Uint8Array; horizon: number; armDim: number },
): Float32Array {
  const g = m.gripper;
  const d = chunk.armDim + 1;
  const out = new Float32Array(chunk.horizon * d);
  for (let t = 0; t < chunk.horizon; t++) {
    out.set(chunk.arm.subarray(t * chunk.armDim, (t + 1) * chunk.armDim), t * d);
    out[t * d + chunk.armDim] = g.fromBinary(chunk.gripper[t]);
  }
  return out;
}
