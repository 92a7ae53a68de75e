/**
 * openpi's example clients, each with its exact observation dict (keys, dtypes, shapes as openpi's
 * examples build them) against the mapping config shipped for it in apps/deploy/configs:
 * - LIBERO (`examples/libero/main.py`): flat keys, HWC uint8 (224, 224, 3), float64 state (8,);
 * - DROID (`examples/droid/main.py`, `droid_policy.make_droid_example`): HWC uint8 (224, 224, 3),
 *   float64 `observation/joint_position` (7,) and `observation/gripper_position` (1,);
 * - ALOHA (`aloha_policy.make_aloha_example`, the real-robot client): a nested `images` dict of four CHW
 *   uint8 (3, 224, 224) cameras, float64 `state` (14,);
 * - ALOHA sim (`examples/aloha_sim/env.py`): `images: {cam_high: (3, 224, 224)}`, `state` (14,), no prompt.
 */

import { readFileSync } from 'node:fs';
import { Decoder } from '@msgpack/msgpack';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PolicyClient } from '../policy/policy-client.js';
import type { PolicySource } from '../policy/protocol.js';
import type { NdArray } from '../protocol/ndarray.js';
import { npArray, type PyArray, packb } from '../test-utils/py-msgpack.js';
import type { ServerConfig } from './config.js';
import { openpiDefaults, resolveMapping } from './mapping.js';
import { toObservation } from './observation.js';
import { startServer } from './server.js';

const config = (name: string): Partial<ServerConfig> =>
  JSON.parse(readFileSync(new URL(`../../configs/openpi-${name}.json`, import.meta.url), 'utf8'));

/** Deterministic "random" uint8 image data (np.random.randint(256, size=shape, dtype=np.uint8)). */
function pixels(n: number, seed: number): Uint8Array {
  const d = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
}
const hwc = (seed: number) => npArray(pixels(224 * 224 * 3, seed), [224, 224, 3]);
const chw = (seed: number) => npArray(pixels(3 * 224 * 224, seed), [3, 224, 224]);
const f64 = (values: number[]) => npArray(new Float64Array(values), [values.length]);

const liberoObs = {
  'observation/image': hwc(1),
  'observation/wrist_image': hwc(2),
  // eef_pos(3) + axis-angle(3) + gripper_qpos(2): fingers open (±0.039)
  'observation/state': f64([-0.2, 0.01, 1.1, 3.1, 0.02, -0.1, 0.039, -0.039]),
  prompt: 'put the bowl on the plate',
};
const droidObs = {
  'observation/exterior_image_1_left': hwc(3),
  'observation/wrist_image_left': hwc(4),
  'observation/joint_position': f64([0.1, -0.5, 0.02, -2.2, 0.03, 1.8, 0.7]),
  'observation/gripper_position': f64([0.9]), // DROID: 0 open … 1 closed
  prompt: 'do something',
};
const alohaObs = {
  state: f64(Array(14).fill(1)),
  images: { cam_high: chw(5), cam_low: chw(6), cam_left_wrist: chw(7), cam_right_wrist: chw(8) },
  prompt: 'do something',
};
const alohaSimObs = {
  state: f64([0, -0.96, 1.16, 0, -0.3, 0, 0.2, 0, -0.96, 1.16, 0, -0.3, 0, 0.2]),
  images: { cam_high: chw(9) },
};

/**
 * Two policies serve all four (a policy worker takes seconds to start): a 2-camera one with a 6-D state
 * and arm, so actions come back [H, 7] as LIBERO's client expects, and a 1-camera one with ALOHA's 13 + 1
 * action channels for the sim client. The action width follows the policy, not the client.
 */
const CASES = [
  { name: 'libero', obs: liberoObs, policy: 'twoCam', width: 7, grip: [-1, 1] },
  { name: 'droid', obs: droidObs, policy: 'twoCam', width: 7, grip: [0, 1] },
  { name: 'aloha', obs: alohaObs, policy: 'twoCam', width: 7, grip: [0, 1] },
  { name: 'aloha-sim', obs: alohaSimObs, policy: 'oneCam', width: 14, grip: [0, 1] },
] as const;
const SOURCES: Record<(typeof CASES)[number]['policy'], PolicySource> = {
  twoCam: { kind: 'init', preset: 'tiny', seed: 0, stateDim: 6, armDim: 6 },
  oneCam: { kind: 'init', preset: 'tiny', seed: 0, stateDim: 13, armDim: 13, cameras: ['top'] },
};
const policies = new Map<string, Promise<PolicyClient>>();
const policyFor = (k: keyof typeof SOURCES) => {
  if (!policies.has(k)) policies.set(k, PolicyClient.start({ source: SOURCES[k] }));
  return policies.get(k) as Promise<PolicyClient>;
};

/** What the server's msgpack-numpy decoder gives for a test-side array. */
const asNd = (v: unknown): NdArray => {
  const a = v as PyArray;
  const b = a.bytes;
  const data =
    a.dtype === '|u1'
      ? new Uint8Array(b)
      : new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return { dtype: a.dtype, shape: a.shape, data };
};

const decoder = new Decoder({
  mapKeyConverter: (k) => (k instanceof Uint8Array ? new TextDecoder().decode(k) : (k as string)),
});

const opened: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
  for (const p of policies.values()) await (await p).close();
});

describe("openpi's example clients, through the shipped mapping configs", () => {
  it('DROID: the two state keys are concatenated in order and the gripper read from the second', () => {
    const info = { cameras: ['front', 'wrist'], stateDim: 7, imageSize: 32 };
    const m = resolveMapping(openpiDefaults(info), config('droid').openpi, info, 'openpi');
    const obs = toObservation(droidObs, m, info, asNd, { maxImagePixels: 1e8 });
    expect(Array.from(obs.state)).toEqual(
      Array.from(new Float32Array([0.1, -0.5, 0.02, -2.2, 0.03, 1.8, 0.7])),
    );
    expect(obs.gripperState).toBe(1); // 0.9 = closed
    const open = { ...droidObs, 'observation/gripper_position': f64([0.05]) };
    expect(toObservation(open, m, info, asNd, { maxImagePixels: 1e8 }).gripperState).toBe(0);
    const nan = { ...droidObs, 'observation/gripper_position': f64([Number.NaN]) };
    expect(() => toObservation(nan, m, info, asNd, { maxImagePixels: 1e8 })).toThrow(
      /^observation\/gripper_position\[0\]: gripper state is not finite$/,
    );
  });

  it('ALOHA: nested images keys, CHW images become the same pixels as HWC, gripper from channel 13', () => {
    const info = { cameras: ['front', 'wrist'], stateDim: 13, imageSize: 224 };
    const m = resolveMapping(openpiDefaults(info), config('aloha').openpi, info, 'openpi');
    const obs = toObservation(alohaObs, m, info, asNd, { maxImagePixels: 1e8 });
    const planes = alohaObs.images.cam_high.bytes;
    const n = 224 * 224;
    const img = obs.images.front.data;
    for (const i of [0, 1, 777, n - 1])
      for (let c = 0; c < 3; c++) expect(img[3 * i + c]).toBe(planes[c * n + i]);
    expect(obs.images.wrist.data[5]).toBe(alohaObs.images.cam_left_wrist.bytes[2 * n + 1]);
    expect(obs.gripperState).toBe(0); // 1 = open
    expect(obs.task).toBe('do something');
    const missing = { ...alohaObs, images: { cam_low: chw(1) } };
    expect(() => toObservation(missing, m, info, asNd, { maxImagePixels: 1e8 })).toThrow(
      /^images\/cam_high: missing \(image for camera 'front'\)$/,
    );
  });

  it('LIBERO: the open fingers (qpos 0.039) read as an open gripper', () => {
    const info = { cameras: ['front', 'wrist'], stateDim: 6, imageSize: 32 };
    const m = resolveMapping(openpiDefaults(info), config('libero').openpi, info, 'openpi');
    const obs = toObservation(liberoObs, m, info, asNd, { maxImagePixels: 1e8 });
    expect(obs.gripperState).toBe(0);
    expect(obs.state.length).toBe(6);
  });

  for (const c of CASES)
    it(`${c.name}: the exact observation dict over the websocket gets actions [H, ${c.width}]`, async () => {
      const policy = await policyFor(c.policy);
      const server = await startServer(policy, { port: 0, ...config(c.name) });
      opened.push(server);
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      const frames: Array<{ data: Buffer; binary: boolean }> = [];
      const next = () =>
        new Promise<{ data: Buffer; binary: boolean }>((resolve) => {
          const poll = () => (frames.length ? resolve(frames.shift() as never) : setTimeout(poll, 5));
          poll();
        });
      ws.on('message', (data, binary) => frames.push({ data: data as Buffer, binary }));
      await next(); // metadata
      ws.send(packb(c.obs as never));
      const r = await next();
      expect(r.binary, r.data.toString()).toBe(true);
      const reply = decoder.decode(r.data) as {
        actions: { shape: number[]; dtype: string; data: Uint8Array };
      };
      expect(reply.actions.dtype).toBe('<f4');
      expect(reply.actions.shape).toEqual([policy.info.horizon, c.width]);
      const a = new Float32Array(Uint8Array.from(reply.actions.data).buffer);
      for (let t = 0; t < policy.info.horizon; t++) expect(c.grip).toContain(a[t * c.width + c.width - 1]);
      ws.close();
    }, 60_000);
});
