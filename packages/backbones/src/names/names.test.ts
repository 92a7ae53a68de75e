import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, loadSafetensors, Module, Rng, saveSafetensors } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { gr1Config } from '../gr1/config.js';
import { Gr1Backbone } from '../gr1/model.js';
import type { Gr1Trunk } from '../gr1/trunk.js';
import { xvlaConfig } from '../xvla/config.js';
import { XvlaModel } from '../xvla/model.js';
import { gr1NameMap } from './gr1.js';
import { loadOfficialSafetensors, saveOfficialSafetensors } from './map.js';
import { lerobotXvlaName, xvlaNameMap, xvlaOfficialShapes } from './xvla.js';

const dir = mkdtempSync(join(tmpdir(), 'names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (shape: number[], seed: number) =>
  tf.tensor(new Rng(seed).fillNormal(shape.reduce((a, b) => a * b, 1)), shape);

describe('X-VLA name map', () => {
  for (const flavor of ['upstream', 'lerobot'] as const) {
    it(`loads and saves ${flavor} names (synthetic checkpoint, tiny shapes)`, async () => {
      const cfg = xvlaConfig('tiny');
      const m = new XvlaModel(cfg, { seed: 1 });
      const pre = flavor === 'lerobot' ? 'model.' : '';
      const d = cfg.dim;
      const dom = cfg.numDomains;
      // Official names and shapes written out by hand (research/xvla.md §3), tiny sizes.
      const shapes: Record<string, number[]> = {
        'transformer.pos_emb': [1, cfg.maxLenSeq, d],
        'transformer.norm.weight': [d],
        'transformer.norm.bias': [d],
        'transformer.vlm_proj.weight': [d, cfg.vl.dim],
        'transformer.vlm_proj.bias': [d],
        'transformer.aux_visual_proj.weight': [d, cfg.vl.dim],
        'transformer.aux_visual_proj.bias': [d],
        'transformer.action_encoder.fc.weight': [dom, (40 + cfg.timeDim) * d],
        'transformer.action_encoder.bias.weight': [dom, d],
        'transformer.action_decoder.fc.weight': [dom, d * 20],
        'transformer.action_decoder.bias.weight': [dom, 20],
        'transformer.soft_prompt_hub.weight': [dom, cfg.softPromptLength * d],
      };
      for (let i = 0; i < cfg.depth; i++) {
        const p = `transformer.blocks.${i}`;
        Object.assign(shapes, {
          [`${p}.norm1.weight`]: [d],
          [`${p}.norm1.bias`]: [d],
          [`${p}.attn.qkv.weight`]: [3 * d, d],
          [`${p}.attn.qkv.bias`]: [3 * d],
          [`${p}.attn.proj.weight`]: [d, d],
          [`${p}.attn.proj.bias`]: [d],
          [`${p}.norm2.weight`]: [d],
          [`${p}.norm2.bias`]: [d],
          [`${p}.mlp.fc1.weight`]: [4 * d, d],
          [`${p}.mlp.fc1.bias`]: [4 * d],
          [`${p}.mlp.fc2.weight`]: [d, 4 * d],
          [`${p}.mlp.fc2.bias`]: [d],
        });
      }
      const file = new Map<string, tf.Tensor>();
      for (const [i, [n, s]] of Object.entries(shapes).entries()) file.set(pre + n, values(s, 100 + i));
      file.set(`${pre}vlm.language_model.model.shared.weight`, values([7, 4], 9)); // Florence side: ignored here
      const path = join(dir, `xvla-${flavor}.safetensors`);
      await saveSafetensors(path, file);
      const map = xvlaNameMap(m, { flavor });
      const report = await loadOfficialSafetensors(path, m, map);
      expect(report.loaded.length).toBe(Object.keys(shapes).length);
      expect(report.ignored).toEqual([`${pre}vlm.language_model.model.shared.weight`]);
      const own = m.stateDict();
      const qkv = own.get('transformer.blocks.1.attn.qkv.weight')!;
      expect(Array.from(qkv.dataSync())).toEqual(
        Array.from(file.get(`${pre}transformer.blocks.1.attn.qkv.weight`)!.dataSync()),
      );
      const out = join(dir, `xvla-${flavor}-out.safetensors`);
      await saveOfficialSafetensors(out, m, map);
      const back = await loadSafetensors(out);
      expect([...back.tensors.keys()].sort()).toEqual(
        Object.keys(shapes)
          .map((n) => pre + n)
          .sort(),
      );
      expect(back.tensors.get(`${pre}transformer.pos_emb`)!.shape).toEqual([1, cfg.maxLenSeq, d]);
      tf.dispose([...file.values()]);
      m.dispose();
    });
  }

  it('LeRobot native renames and the image_projection transpose (§3)', () => {
    const cases: Array<[string, string]> = [
      ['vlm.vision_tower.convs.2.proj.weight', 'model.vlm.vision_tower.convs.2.conv.weight'],
      [
        'vlm.vision_tower.blocks.2.3.spatial_block.conv1.fn.dw.weight',
        'model.vlm.vision_tower.blocks.2.3.spatial_block.conv1.weight',
      ],
      [
        'vlm.vision_tower.blocks.0.0.spatial_block.window_attn.norm.bias',
        'model.vlm.vision_tower.blocks.0.0.spatial_block.norm1.bias',
      ],
      [
        'vlm.vision_tower.blocks.0.0.channel_block.channel_attn.fn.qkv.weight',
        'model.vlm.vision_tower.blocks.0.0.channel_block.channel_attn.qkv.weight',
      ],
      [
        'vlm.vision_tower.blocks.3.0.channel_block.ffn.norm.weight',
        'model.vlm.vision_tower.blocks.3.0.channel_block.norm2.weight',
      ],
      [
        'vlm.vision_tower.blocks.3.0.channel_block.ffn.fn.net.fc2.bias',
        'model.vlm.vision_tower.blocks.3.0.channel_block.ffn.fc2.bias',
      ],
      [
        'vlm.image_pos_embed.row_embeddings.weight',
        'model.vlm.multi_modal_projector.image_position_embed.row_embeddings.weight',
      ],
      [
        'vlm.language_model.model.encoder.layers.0.fc1.weight',
        'model.vlm.language_model.encoder.layers.0.fc1.weight',
      ],
      ['transformer.blocks.0.attn.qkv.weight', 'model.transformer.blocks.0.attn.qkv.weight'],
    ];
    for (const [up, lr] of cases) expect(lerobotXvlaName(up)).toEqual({ name: lr, transposed: false });
    expect(lerobotXvlaName('vlm.image_projection')).toEqual({
      name: 'model.vlm.multi_modal_projector.image_projection.weight',
      transposed: true,
    });
    expect(lerobotXvlaName('vlm.language_model.final_logits_bias')).toBeUndefined();
  });

  it('paper layout: 901 parameters + 2 buffers, 879.7 M values', () => {
    const shapes = xvlaOfficialShapes(xvlaConfig('paper'));
    expect(shapes.size).toBe(903);
    let total = 0;
    for (const s of shapes.values()) total += s.reduce((a, b) => a * b, 1);
    expect(total / 1e6).toBeCloseTo(879.7, 1);
    expect(shapes.get('transformer.action_encoder.fc.weight')).toEqual([30, 73728]);
    expect(shapes.get('vlm.language_model.model.encoder.embed_positions.weight')).toEqual([4098, 1024]);
  });
});

/** Holds a tiny GR-1 the way AnchorRefinePolicy does: backbone.*, anchor.{queries, trunk, head}. */
class Holder extends Module {
  readonly backbone: Gr1Backbone;
  readonly anchor: Module;
  readonly trunk: Gr1Trunk;
  constructor() {
    super();
    const cfg = gr1Config('tiny');
    this.backbone = this.registerModule('backbone', new Gr1Backbone(cfg));
    const a = new Module();
    a.registerParameter('queries', () => init.normal([cfg.horizon, cfg.dim], new Rng(0)));
    this.trunk = a.registerModule(
      'trunk',
      this.backbone.createTrunk({ depth: cfg.depth, seed: 1 }) as Gr1Trunk,
    );
    a.registerModule('head', this.backbone.createHead({ armDim: cfg.armDim, seed: 2 }));
    this.anchor = this.registerModule('anchor', a);
  }
}

describe('GR-1 name map', () => {
  it('loads a synthetic GR-1 checkpoint: Conv1D [in, out] transposed, c_attn = q|k|v, one query tiled', async () => {
    const cfg = gr1Config('tiny');
    const d = cfg.dim;
    const h = new Holder();
    const map = gr1NameMap(cfg);
    // Official GPT-2 Conv1D layout written by hand for block 0.
    const file = new Map<string, tf.Tensor>();
    for (const e of map.entries) {
      const ours = h.stateDict().get(e.ours)!.shape;
      const shape = e.transform === 'transpose' ? [ours[1], ours[0]] : (e.officialShape ?? ours);
      file.set(e.official, values(shape, file.size + 1));
    }
    expect(file.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([d, 3 * d]);
    expect(file.get('transformer.h.0.mlp.c_proj.weight')!.shape).toEqual([4 * d, d]);
    expect(file.get('action_queries.weight')!.shape).toEqual([1, d]);
    expect(file.get('model_mae.patch_embed.proj.weight')!.shape).toEqual([cfg.vision.dim, 3, 8, 8]);
    file.set('transformer.h.0.attn.bias', tf.ones([1, 1, 4, 4], 'int32')); // old-transformers buffer
    file.set('transformer.wte.weight', values([1, d], 7));
    const path = join(dir, 'gr1.safetensors');
    await saveSafetensors(path, file);
    const report = await loadOfficialSafetensors(path, h, map, { strict: true });
    expect(report.ignored.sort()).toEqual(['transformer.h.0.attn.bias', 'transformer.wte.weight']);
    const own = h.stateDict();
    // c_attn[i, j] (in i, out j) = qkv.weight[j, i]; columns 0..d−1 are q
    const cAttn = file.get('transformer.h.0.attn.c_attn.weight')!.arraySync() as number[][];
    const qkv = own.get('anchor.trunk.gpt.blocks.0.attn.qkv.weight')!.arraySync() as number[][];
    expect(qkv[5][3]).toBe(cAttn[3][5]);
    expect(qkv[2 * d + 1][0]).toBe(cAttn[0][2 * d + 1]);
    // x·W_conv1d + b equals our Linear forward on the loaded weights
    const x = values([2, d], 11);
    const fc1 = h.trunk.gpt.blocks.at(0).mlp.fc1;
    const [ref, got] = tf.tidy(() => [
      tf.add(
        tf.matMul(x, file.get('transformer.h.0.mlp.c_fc.weight')!),
        file.get('transformer.h.0.mlp.c_fc.bias')!,
      ),
      fc1.forward(x),
    ]);
    tf.test_util.expectArraysClose(got.dataSync(), ref.dataSync(), 1e-5);
    const q = own.get('anchor.queries')!.arraySync() as number[][];
    expect(q[cfg.horizon - 1]).toEqual((file.get('action_queries.weight')!.arraySync() as number[][])[0]);
    // and back: the saved file holds the official names and layouts
    const out = join(dir, 'gr1-out.safetensors');
    await saveOfficialSafetensors(out, h, map);
    const back = await loadSafetensors(out);
    expect(back.tensors.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([d, 3 * d]);
    expect(back.tensors.get('model_mae.patch_embed.proj.weight')!.shape).toEqual([cfg.vision.dim, 3, 8, 8]);
    expect(back.tensors.size).toBe(map.entries.length);
    tf.dispose([...file.values(), x, ref, got]);
    h.dispose();
  });

  it('maps the CLIP text tower under OpenAI names; CLIP vision / logit_scale ignored; includeClip false', () => {
    const cfg = gr1Config('tiny');
    const map = gr1NameMap(cfg);
    const byOfficial = new Map(map.entries.map((e) => [e.official, e]));
    expect(byOfficial.get('model_clip.transformer.resblocks.0.attn.in_proj_weight')?.ours).toBe(
      'backbone.text.transformer.blocks.0.attn.qkv.weight',
    );
    expect(byOfficial.get('model_clip.text_projection')?.transform).toBe('none'); // both [width, out]
    expect(byOfficial.get('model_clip.ln_final.weight')?.ours).toBe('backbone.text.transformer.ln_f.weight');
    const ignored = (m: typeof map, n: string) => m.ignore.some((r) => r.test(n));
    expect(ignored(map, 'model_clip.visual.conv1.weight')).toBe(true);
    expect(ignored(map, 'model_clip.logit_scale')).toBe(true);
    expect(ignored(map, 'model_clip.token_embedding.weight')).toBe(false);
    const noClip = gr1NameMap(cfg, { includeClip: false });
    expect(noClip.entries.some((e) => e.official.startsWith('model_clip.'))).toBe(false);
    expect(ignored(noClip, 'model_clip.token_embedding.weight')).toBe(true);
  });

  it('strict load names what is missing', async () => {
    const h = new Holder();
    const path = join(dir, 'empty.safetensors');
    const one = values([1], 1);
    await saveSafetensors(path, { 'unknown.weight': one });
    await expect(loadOfficialSafetensors(path, h, gr1NameMap(gr1Config('tiny')))).rejects.toThrow(
      /unexpected \[unknown\.weight\]/,
    );
    one.dispose();
    h.dispose();
  });
});
