/**
 * A released X-VLA as the AnchorRefine anchor, at toy shapes: a checkpoint written with the official
 * names (Florence-2 layout) and a BART-style tokenizer folder → importOfficialXvla → the anchor holds
 * exactly the checkpoint's tensors, the refiner starts as a copy of its first blocks, and the saved
 * AnchorRefine checkpoint carries the tokenizer so it loads (and predicts the same) without the folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  florenceToyVl,
  loadHfTokenizer,
  saveOfficialSafetensors,
  XvlaModel,
  xvlaNameMap,
} from '@anchor-refine/backbones';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPolicy, savePolicy } from '../checkpoint.js';
import { SyntheticReachTask } from '../synthetic.js';
import { validateXvlaPolicyConfig, type XvlaPolicyConfig, xvlaPolicyConfig } from './config.js';
import { importOfficialXvla } from './official.js';

const dir = mkdtempSync(join(tmpdir(), 'xvla-official-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const task = new SyntheticReachTask({ episodes: 2, imageSize: 64, seed: 4 });

/** Florence-2 layout at toy sizes, wider and with room for longer instructions; frozen as released. */
const VL = florenceToyVl({ dim: 32, bartPositions: 40, contextLength: 24, frozen: true });

function config(): XvlaPolicyConfig {
  const cfg = xvlaPolicyConfig('tiny', {
    armDim: 3,
    stateDim: task.stateDim,
    overrides: { seed: 11, anchor: { steps: 2 } },
  });
  cfg.backbone.config.vl = VL;
  validateXvlaPolicyConfig(cfg);
  return cfg;
}

/** A byte-level BPE folder like Florence-2's (specials 0–3, 'Ġ' = space, one symbol per letter, no merges). */
function writeTokenizer(to: string): void {
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, Ġ: 4 };
  for (let c = 0; c < 26; c++) vocab[String.fromCharCode(97 + c)] = 5 + c;
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, vocab, merges: [] },
  };
  writeFileSync(join(to, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(to, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 1024 }));
}

describe('importOfficialXvla', () => {
  it('loads a release checkpoint as the anchor, carries the tokenizer through save / load', async () => {
    writeTokenizer(dir);
    const cfg = config();
    const tok = await loadHfTokenizer(dir, { kind: 'bart', contextLength: VL.contextLength });
    expect(Array.from(tok.encode('pick it')).slice(0, 9)).toEqual([0, 20, 13, 7, 15, 4, 13, 24, 2]);
    // The "release": an X-VLA with other weights, written under the upstream names.
    const release = new XvlaModel(cfg.backbone.config, { seed: 99, tokenizer: tok });
    const weights = join(dir, 'model.safetensors');
    await saveOfficialSafetensors(weights, release, xvlaNameMap(release, { flavor: 'upstream' }));

    await expect(importOfficialXvla({ weights, config: cfg })).rejects.toThrow(/tokenizerDir/);
    const { policy, report } = await importOfficialXvla({ weights, config: cfg, tokenizerDir: dir });
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    const want = release.stateDict();
    const got = policy.model.stateDict();
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want)
      expect(Array.from(got.get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
    // Phase 2 starts from the anchor: the refiner's first block is the denoiser's first block.
    const refBlock = policy.refiner!.blocks.at(0).attn.qkv.weight.dataSync();
    expect(Array.from(refBlock)).toEqual(
      Array.from(release.transformer.blocks.at(0).attn.qkv.weight.dataSync()),
    );

    policy.eval();
    const obs = task.observation(1, 2);
    const before = policy.predictActionChunk(obs);
    for (const x of before.arm) expect(Number.isFinite(x)).toBe(true);
    const ckpt = join(dir, 'ckpt');
    await savePolicy(policy, ckpt);
    const loaded = await loadPolicy(ckpt);
    loaded.eval();
    expect(Array.from(loaded.predictActionChunk(obs).arm)).toEqual(Array.from(before.arm));
    expect(Array.from(loaded.tokenizer!.encode('pick it'))).toEqual(Array.from(tok.encode('pick it')));
    loaded.dispose();
    policy.dispose();
    release.dispose();

    rmSync(join(ckpt, 'tokenizer'), { recursive: true });
    await expect(loadPolicy(ckpt)).rejects.toThrow(/tokenizer\/tokenizer\.json is missing.*BART/);
  }, 120_000);
});
