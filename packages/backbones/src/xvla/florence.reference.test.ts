/**
 * The Florence-2 encoder side against transformers' native Florence2Model (golden fixture made by
 * tools/fixtures/florence2_reference.py: toy shapes, random weights, LeRobot/native checkpoint names).
 * The checkpoint goes through `xvlaNameMap(…, { flavor: 'lerobot' })`, as a real LeRobot X-VLA would.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOfficialSafetensors } from '../names/map.js';
import { xvlaNameMap } from '../names/xvla.js';
import { expectGolden, loadGolden } from '../test-utils/golden.js';
import { type XvlaFlorenceConfig, xvlaConfig } from './config.js';
import { type Florence2Encoder, imagenetNormalize } from './florence.js';
import { XvlaModel } from './model.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'florence2-tiny');

/** Must match CONFIG in tools/fixtures/florence2_reference.py. */
const VL: XvlaFlorenceConfig = {
  kind: 'florence2',
  imageSize: 40, // grids 10, 5, 3, 2
  stageDims: [8, 12, 16, 24],
  stageDepths: [1, 1, 2, 1],
  stageHeads: [2, 2, 4, 4],
  windowSize: 3,
  dim: 16,
  bartLayers: 1,
  bartHeads: 2,
  bartFfn: 32,
  vocabSize: 40,
  bartPositions: 24,
  contextLength: 6,
  frozen: false,
};

let model: XvlaModel;
let enc: Florence2Encoder;
let inputs: Map<string, tf.Tensor>;
let expected: Map<string, tf.Tensor>;

const expectClose = (name: string, ours: tf.Tensor) => expectGolden('florence2', expected, name, ours);

beforeAll(async () => {
  model = new XvlaModel(xvlaConfig('tiny', { vl: structuredClone(VL), cameras: ['main', 'wrist'] }), {
    seed: 7,
  });
  enc = model.vlm as Florence2Encoder;
  const full = xvlaNameMap(model, { flavor: 'lerobot' });
  // The fixture holds the encoder side only; strict over every vlm.* tensor we have.
  const map = { ...full, entries: full.entries.filter((e) => e.ours.startsWith('vlm.')) };
  const report = await loadOfficialSafetensors(join(FIXTURE, 'model.safetensors'), model, map);
  expect(report.missing).toEqual([]);
  expect(report.unexpected).toEqual([]);
  // Ours has no final_logits_bias counterpart in the native layout; nothing else may be skipped.
  expect(report.ignored).toEqual([]);
  expect(report.loaded.length).toBe(map.entries.length);
  ({ inputs, expected } = await loadGolden(FIXTURE));
});

afterAll(() => {
  tf.dispose([...(inputs?.values() ?? []), ...(expected?.values() ?? [])]);
  model?.dispose();
});

describe('Florence-2 encoder side vs transformers Florence2Model (golden fixture)', () => {
  it('DaViT stage outputs match', () => {
    const x = imagenetNormalize(inputs.get('images')!) as tf.Tensor4D;
    const outs = enc.vision_tower.forwardStages(x);
    outs.forEach((o, s) => {
      expectClose(`stage${s}`, o);
    });
    tf.dispose([x, ...outs]);
  });

  it('projected image tokens match', () => {
    const tokens = enc.imageTokens(inputs.get('images')!);
    expectClose('image_tokens', tokens);
    tokens.dispose();
  });

  it('BART encoder last hidden state over [image tokens ; text] matches (encode, main view)', () => {
    const images = inputs.get('images')!;
    const [b, s] = images.shape;
    // Main view = the fixture image; the second (wrist) view is masked out and does not reach `vlm`.
    const views = tf.tidy(() => tf.stack([images, tf.zerosLike(images)], 1));
    const mask = tf.tensor2d(
      Array.from({ length: b }, () => [true, false]),
      [b, 2],
      'bool',
    );
    const f = enc.encode(views, mask, inputs.get('ids')!);
    expect(f.vlm.shape).toEqual([b, 1 + 4 + VL.contextLength, VL.dim]);
    expect(s).toBe(VL.imageSize);
    expectClose('encoder', f.vlm);
    tf.dispose([views, mask, f.vlm, f.aux]);
  });
});
