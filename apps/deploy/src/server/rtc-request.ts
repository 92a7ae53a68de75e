/**
 * The optional `rtc` request field, on both surfaces: what a remote client running real-time chunking
 * sends with an observation — the plan it will still execute from this observation's step on, in its
 * own action layout (rows of a chunk the server sent before: [P, armDim + 1], gripper last, in the
 * client's gripper convention) and the delay d in control steps (the rows it executes while waiting).
 *
 *   openpi websocket: msg["rtc"] = {"prev_actions": ndarray [P, D], "delay": int, "max_guidance_weight": float?}
 *   POST /act:        body["rtc"] = the same map, prev_actions as json-numpy or nested lists
 *
 * The reply's first d rows are then those rows exactly. Clients that do not send `rtc` (openpi's and
 * X-VLA's own) get the plain chunk, as before; a malformed field is a 400 naming it.
 */
import type { ChunkGuide } from '@anchor-refine/policy';
import { validateGuide } from '@anchor-refine/policy';
import { type NdArray, ProtocolError, toFloat32 } from '../protocol/ndarray.js';
import type { ResolvedMapping } from './mapping.js';
import type { ArrayParser } from './observation.js';

export function parseRtcField(
  msg: Record<string, unknown>,
  mapping: ResolvedMapping,
  shape: { horizon: number; armDim: number },
  parse: ArrayParser,
): ChunkGuide | undefined {
  if (!Object.hasOwn(msg, 'rtc') || msg.rtc === null || msg.rtc === undefined) return undefined;
  const r = msg.rtc;
  if (typeof r !== 'object' || Array.isArray(r))
    throw new ProtocolError('rtc', 'must be a map {prev_actions, delay}');
  const f = r as Record<string, unknown>;
  const prev: NdArray = parse(f.prev_actions, 'rtc/prev_actions');
  const d = shape.armDim + 1;
  if (prev.shape.length !== 2 || prev.shape[1] !== d || prev.shape[0] < 1 || prev.shape[0] > shape.horizon)
    throw new ProtocolError(
      'rtc/prev_actions',
      `must be [P, ${d}] with 1 ≤ P ≤ ${shape.horizon} (rows of an earlier reply), got [${prev.shape}]`,
    );
  const delay = Number(f.delay);
  if (!Number.isInteger(delay) || delay < 0 || delay > prev.shape[0])
    throw new ProtocolError(
      'rtc/delay',
      `must be an integer in [0, ${prev.shape[0]}] (steps), got ${String(f.delay)}`,
    );
  const w = f.max_guidance_weight;
  if (w !== undefined && !(typeof w === 'number' && w > 0 && Number.isFinite(w)))
    throw new ProtocolError('rtc/max_guidance_weight', `must be a number > 0, got ${String(w)}`);
  const values = toFloat32(prev);
  const p = prev.shape[0];
  const arm = new Float32Array(p * shape.armDim);
  const gripper = new Uint8Array(p);
  for (let i = 0; i < p; i++) {
    arm.set(values.subarray(i * d, i * d + shape.armDim), i * shape.armDim);
    gripper[i] = mapping.gripper.toBinary(values[i * d + shape.armDim]);
  }
  const guide: ChunkGuide = {
    arm,
    gripper,
    gripperProb: Float32Array.from(gripper),
    delay,
    ...(w !== undefined ? { maxGuidanceWeight: w as number } : {}),
  };
  try {
    validateGuide(guide, shape.horizon, shape.armDim);
  } catch (err) {
    throw new ProtocolError('rtc', (err as Error).message);
  }
  return guide;
}
