/**
 * GR-1's frozen encoders against transformers (golden fixture made by tools/fixtures/gr1_encoders_reference.py:
 * toy shapes, random weights): the MAE ViT vs `ViTMAEModel` (mask ratio 0, unshuffled) and the CLIP text
 * tower vs `CLIPTextModelWithProjection`. The checkpoint holds GR-1's own names (`model_mae.*` in the MAE /
 * timm layout, `model_clip.*` in the OpenAI CLIP layout) and goes through `gr1NameMap`, as a GR-1 checkpoint would.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gr1NameMap } from '../names/gr1.js';
import { loadOfficialSafetensors } from '../names/map.js';
import { expectGolden, loadGolden } from '../test-utils/golden.js';
import { type Gr1TextConfig, type Gr1VisionConfig, gr1Config } from './config.js';
import { Gr1Backbone } from './model.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'gr1-encoders-tiny');

/** Must match VISION / TEXT in tools/fixtures/gr1_encoders_reference.py. */
const VISION: Gr1VisionConfig = {
  imageSize: 32,
  patchSize: 8,
  dim: 32,
  depth: 2,
  heads: 2,
  mlpRatio: 2,
  eps: 1e-6,
  frozen: true,
};
const TEXT: Gr1TextConfig = {
  tokenizer: 'byte',
  vocabSize: 259,
  contextLength: 16,
  width: 32,
  layers: 2,
  heads: 2,
  outDim: 24,
  activation: 'quick_gelu',
  frozen: true,
};
/** The texts behind the fixture's ids (our byte tokenizer must reproduce them). */
const TEXTS = ['open drawer', 'pick up the red block'];

let bb: Gr1Backbone;
let inputs: Map<string, tf.Tensor>;
let expected: Map<string, tf.Tensor>;

const expectClose = (name: string, ours: tf.Tensor) => expectGolden('gr1', expected, name, ours);

beforeAll(async () => {
  bb = new Gr1Backbone(gr1Config('tiny', { vision: VISION, text: TEXT }), { seed: 3 });
  const full = gr1NameMap(bb.config, { prefixes: { backbone: '', anchor: 'anchor.' } });
  // The fixture holds the two frozen encoders only; strict over every mapped vision.* / text.* tensor.
  const map = {
    ...full,
    entries: full.entries.filter((e) => /^model_(mae|clip)\./.test(e.official)),
  };
  expect(map.entries.every((e) => /^(vision|text)\./.test(e.ours))).toBe(true);
  const report = await loadOfficialSafetensors(join(FIXTURE, 'model.safetensors'), bb, map);
  expect(report.missing).toEqual([]);
  expect(report.unexpected).toEqual([]);
  expect(report.ignored).toEqual([]);
  expect(report.loaded.length).toBe(map.entries.length);
  // Every parameter of both encoders came from the fixture.
  const encoderParams = [...bb.stateDict().keys()].filter((k) => /^(vision|text)\./.test(k));
  expect(report.loaded.sort()).toEqual(encoderParams.sort());
  ({ inputs, expected } = await loadGolden(FIXTURE));
});

afterAll(() => {
  tf.dispose([...(inputs?.values() ?? []), ...(expected?.values() ?? [])]);
  bb?.dispose();
});

describe('GR-1 MAE ViT vs transformers ViTMAEModel (mask ratio 0, golden fixture)', () => {
  it('embeddings [CLS + pos₀ ; patches + pos] match (patch order, CLS first)', () => {
    const v = bb.vision;
    const images = inputs.get('images')!;
    const [n, s] = images.shape;
    const p = VISION.patchSize;
    const g = s / p;
    // The first half of VisionTransformer.forward, spelled out: pins the loaded patch_embed (conv kernel
    // reshape), cls_token and pos_embed on their own; vit.ts's own patchify is pinned by the next test.
    const emb = tf.tidy(() => {
      const x = tf.div(tf.sub(images, [0.485, 0.456, 0.406]), [0.229, 0.224, 0.225]);
      const chw = tf.transpose(tf.reshape(x, [n, g, p, g, p, 3]), [0, 1, 3, 5, 2, 4]);
      const tokens = v.patch_embed.forward(tf.reshape(chw, [n, g * g, 3 * p * p]));
      return tf.add(tf.concat([tf.tile(v.cls_token, [n, 1, 1]), tokens], 1), v.pos_embed);
    });
    expectClose('mae_embeddings', emb);
    emb.dispose();
  });

  it('last hidden state (after the final norm) = [cls ; patches] of VisionTransformer.forward', () => {
    const { cls, patches } = bb.vision.forward(inputs.get('images')!);
    const out = tf.tidy(() => tf.concat([tf.expandDims(cls, 1), patches], 1));
    expectClose('mae_last_hidden', out);
    tf.dispose([cls, patches, out]);
  });
});

describe('GR-1 CLIP text tower vs transformers CLIPTextModelWithProjection (golden fixture)', () => {
  it('our byte tokenizer produces the fixture ids (EOS the largest id)', () => {
    const ids = bb.tokenize(TEXTS);
    expect(ids.arraySync()).toEqual(inputs.get('ids')!.arraySync());
    ids.dispose();
  });

  it('last hidden state (causal, after ln_final) matches', () => {
    const t = bb.text;
    const h = tf.tidy(() =>
      t.transformer.forward(tf.add(t.token_embedding.forward(inputs.get('ids')!), t.positional_embedding)),
    );
    expectClose('clip_last_hidden', h);
    // pooled at the end-of-text token = argmax(ids)
    const ids = inputs.get('ids')!;
    const pooled = tf.tidy(() => {
      const [b, len] = ids.shape;
      const rows = tf.cast(
        tf.add(tf.mul(tf.range(0, b, 1, 'int32'), len), tf.cast(tf.argMax(ids, 1), 'int32')),
        'int32',
      );
      return tf.gather(tf.reshape(h, [b * len, TEXT.width]), rows);
    });
    expectClose('clip_pooled', pooled);
    tf.dispose([h, pooled]);
  });

  it('projected text embedding (TextEncoder.forward) matches text_embeds', () => {
    const e = bb.text.forward(inputs.get('ids')!);
    expectClose('clip_text_embeds', e);
    e.dispose();
  });
});
