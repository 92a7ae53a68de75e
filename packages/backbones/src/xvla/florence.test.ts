import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOfficialSafetensors, saveOfficialSafetensors } from '../names/map.js';
import { xvlaNameMap, xvlaOfficialShapes } from '../names/xvla.js';
import { davitGrid, florenceToyVl, type XvlaConfig, type XvlaFlorenceConfig, xvlaConfig } from './config.js';
import { ChannelAttention, Florence2Encoder, WindowAttention } from './florence.js';
import { XvlaModel } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'florence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Florence-2 layout at toy sizes: 64 px → grids 16, 8, 4, 2 (two units in stage 2). */
const VL: XvlaFlorenceConfig = florenceToyVl({ stageDepths: [1, 1, 2, 1] });
const cfg = (): XvlaConfig => xvlaConfig('tiny', { vl: structuredClone(VL), cameras: ['a', 'b', 'c'] });

describe('Florence-2 encoder side', () => {
  it('has exactly the upstream vlm.* + transformer.* names and shapes (xvlaOfficialShapes)', () => {
    const m = new XvlaModel(cfg());
    const ours = new Map(m.stateDict());
    const official = xvlaOfficialShapes(cfg());
    expect([...ours.keys()].sort()).toEqual([...official.keys()].sort());
    for (const [n, s] of official) expect([n, ours.get(n)?.shape]).toEqual([n, s]);
    expect(davitGrid(224)).toBe(7);
    m.dispose();
  });

  it('channel attention: softmax((q·N^−½)ᵀk), out = (attn·vᵀ)ᵀ (hand-computed)', () => {
    const a = new ChannelAttention(2, 1, new Rng(0));
    const eye = tf.eye(2);
    const w = tf.concat([eye, eye, eye], 0); // q = k = v = x
    const z6 = tf.zeros([6]);
    const z2 = tf.zeros([2]);
    a.loadStateDict({ 'qkv.weight': w, 'qkv.bias': z6, 'proj.weight': eye, 'proj.bias': z2 });
    const x = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]); // N = 2 tokens, C = 2
    const y = a.forward(x);
    // qᵀk = I/√2 → rows softmax([0.7071, 0]) = [0.66976, 0.33024]; out = (attn·I)ᵀ
    const p = Math.exp(Math.SQRT1_2) / (Math.exp(Math.SQRT1_2) + 1);
    tf.test_util.expectArraysClose(y.dataSync(), [p, 1 - p, 1 - p, p], 1e-5);
    tf.dispose([eye, w, z6, z2, x, y]);
    a.dispose();
  });

  it('window attention pads right/bottom, attends padded zeros, and crops', () => {
    const a = new WindowAttention(4, 2, 2, new Rng(1));
    const x = tf.randomNormal([1, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = a.forward(x);
    const ref = tf.tidy(() => {
      const p = tf.pad(x, [
        [0, 0],
        [0, 1],
        [0, 1],
        [0, 0],
      ]) as tf.Tensor4D; // 4×4
      const win = (r: number, c: number) => a.forward(tf.slice(p, [0, r, c, 0], [1, 2, 2, 4]) as tf.Tensor4D); // one window each
      const top = tf.concat([win(0, 0), win(0, 2)], 2);
      const bottom = tf.concat([win(2, 0), win(2, 2)], 2);
      return tf.slice(tf.concat([top, bottom], 1), [0, 0, 0, 0], [1, 3, 3, 4]);
    });
    tf.test_util.expectArraysClose(y.dataSync(), ref.dataSync(), 1e-5);
    tf.dispose([x, y, ref]);
    a.dispose();
  });

  it('projector: temporal row 0 adds +1 on odd channels; tokens are [pooled ; grid]; BART output [B, n+T, d]', () => {
    const enc = new Florence2Encoder(VL, new Rng(3));
    expect(Array.from(enc.temporal.dataSync().slice(0, 4))).toEqual([0, 1, 0, 1]);
    const imgs = tf.randomUniform([2, 3, 64, 64, 3], 0, 1, 'float32', 4);
    const ids = tf.tensor2d(
      [
        [0, 5, 6, 2, 1, 1],
        [0, 7, 2, 1, 1, 1],
      ],
      [2, 6],
      'int32',
    );
    const mask = tf.tensor2d(
      [
        [true, true, false],
        [true, true, true],
      ],
      [2, 3],
      'bool',
    );
    const f = enc.encode(imgs, mask, ids);
    expect(f.vlm.shape).toEqual([2, 5 + 6, 16]);
    expect(f.aux.shape).toEqual([2, 2 * 5, 16]);
    const auxPadded = tf.tidy(() => tf.max(tf.abs(tf.slice(f.aux, [0, 5, 0], [1, 5, 16]))).dataSync()[0]);
    expect(auxPadded).toBe(0);
    tf.dispose([imgs, ids, mask, f.vlm, f.aux]);
    enc.dispose();
  });

  it('an X-VLA with the Florence side samples, and round-trips through LeRobot names (image_projection transposed)', async () => {
    const a = new XvlaModel(cfg(), { seed: 1 });
    const b = new XvlaModel(cfg(), { seed: 2 });
    const path = join(dir, 'lerobot.safetensors');
    const map = xvlaNameMap(a, { flavor: 'lerobot' });
    await saveOfficialSafetensors(path, a, map);
    const file = await loadSafetensors(path);
    expect(file.tensors.get('model.vlm.multi_modal_projector.image_projection.weight')!.shape).toEqual([
      16, 16,
    ]);
    expect(file.tensors.has('model.vlm.vision_tower.blocks.2.1.channel_block.channel_attn.qkv.weight')).toBe(
      true,
    );
    const report = await loadOfficialSafetensors(path, b, xvlaNameMap(b, { flavor: 'lerobot' }));
    expect(report.unexpected).toEqual([]);
    const pa = a.vlm.stateDict().get('image_projection')!;
    const pb = b.vlm.stateDict().get('image_projection')!;
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    const inp = {
      images: tf.randomUniform([1, 3, 64, 64, 3], 0, 1, 'float32', 5),
      viewMask: tf.ones([1, 3], 'bool'),
      ids: tf.tensor2d([[0, 5, 6, 2, 1, 1]], [1, 6], 'int32'),
      proprio: tf.zeros([1, 20]),
      domain: tf.tensor1d([0], 'int32'),
    };
    const x1 = tf.randomNormal([1, 5, 20], 0, 1, 'float32', 6);
    const sa = a.sample(inp, x1, 2);
    const sb = b.sample(inp, x1, 2);
    tf.test_util.expectArraysClose(sa.actions.dataSync(), sb.actions.dataSync(), 1e-5);
    tf.dispose([
      ...Object.values(inp),
      x1,
      sa.raw,
      sa.actions,
      sa.actionTokens,
      sb.raw,
      sb.actions,
      sb.actionTokens,
    ]);
    a.dispose();
    b.dispose();
  });
});
