/**
 * The server with an X-VLA AnchorRefine policy: a checkpoint saved by the policy package is served
 * (the worker rebuilds the class its config names) and `POST /act` answers with its chunk; `--init`
 * with backbone 'xvla' starts a random-init one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@anchor-refine/core-tensors';
import { createPolicy, savePolicy, xvlaPolicyConfig } from '@anchor-refine/policy';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyClient } from '../policy/policy-client.js';
import { startServer } from './server.js';

const jnp = (data: Uint8Array | Float32Array, dtype: string, shape: number[]) =>
  JSON.stringify({
    __numpy__: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    dtype,
    shape,
  });

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('serving an X-VLA AnchorRefine policy', () => {
  it('loads an X-VLA checkpoint in the worker and answers POST /act with its [H][D] chunk', async () => {
    await selectBackend('native');
    const dir = await mkdtemp(join(tmpdir(), 'deploy-xvla-'));
    dirs.push(dir);
    const cfg = xvlaPolicyConfig('tiny', { armDim: 3, stateDim: 3, overrides: { anchor: { steps: 2 } } });
    const p = createPolicy(cfg);
    await savePolicy(p, join(dir, 'ckpt'));
    p.dispose();
    const client = await PolicyClient.start({ source: { kind: 'checkpoint', dir: join(dir, 'ckpt') } });
    const server = await startServer(client, { host: '127.0.0.1', port: 0 });
    try {
      expect(client.info).toMatchObject({ history: 1, horizon: 5, armDim: 3, stateDim: 3, imageSize: 32 });
      const img = new Uint8Array(40 * 40 * 3).fill(90);
      const body = {
        language_instruction: 'open the drawer',
        proprio: jnp(new Float32Array([0.1, 0.2, 0.3, 1]), '<f4', [4]),
        image0: jnp(img, '|u1', [40, 40, 3]),
        image1: jnp(img, '|u1', [40, 40, 3]),
      };
      const r = await fetch(`http://127.0.0.1:${server.port}/act`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
      const j = (await r.json()) as { action: number[][] };
      expect(j.action.length).toBe(5);
      for (const row of j.action) {
        expect(row.length).toBe(4);
        for (const x of row) expect(Number.isFinite(x)).toBe(true);
      }
    } finally {
      await server.close();
      await client.close();
    }
  }, 120_000);

  it('starts a random-init X-VLA policy from --init with backbone xvla', async () => {
    const client = await PolicyClient.start({
      source: { kind: 'init', preset: 'tiny', seed: 1, backbone: 'xvla' },
    });
    try {
      expect(client.info.source).toBe('init:xvla-tiny');
      expect(client.info.history).toBe(1);
      const frame = () => ({ data: new Uint8Array(32 * 32 * 3), height: 32, width: 32 });
      const obs = {
        images: { front: frame(), wrist: frame() },
        state: [0, 0, 0],
        gripperState: 0,
        task: 'pick up the cube',
      };
      const out = await client.infer([obs]);
      expect(out.chunk.arm.length).toBe(client.info.horizon * client.info.armDim);
    } finally {
      await client.close();
    }
  }, 120_000);
});
