import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@anchor-refine/nn';
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { type Gr1TextConfig, gr1Config } from '../gr1/config.js';
import { Gr1Backbone } from '../gr1/model.js';
import { TextEncoder } from '../gr1/text.js';
import { tokenizeBatch } from '../gr1/tokenizer.js';
import { florenceToyVl, xvlaConfig } from '../xvla/config.js';
import { XvlaModel } from '../xvla/model.js';
import { type HfTokenizerOptions, hfTokenizerFromJson, loadHfTokenizer } from './hf.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures: tiny but real tokenizer.json contents, with the component layout of the shipped files
// (facebook/bart-large / Florence-2, openai/clip-vit-base-patch32) and a vocabulary small enough to follow
// every merge by hand.
// ---------------------------------------------------------------------------------------------------------

const special = (id: number, content: string, normalized: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized,
  special: true,
});

/**
 * Byte-level BPE like BART's (GPT-2 bytes→unicode, ' ' = 'Ġ'), RobertaProcessing post-processor.
 *
 *   merges (rank): 0 'Ġ t' → Ġt(14)   1 'h e' → he(15)    2 'Ġt he' → Ġthe(16)   3 'i c' → ic(17)
 *                  4 'ic k' → ick(18)  5 'p ick' → pick(19) 6 'c u' → cu(20)      7 'Ġ cu' → Ġcu(21)
 */
function bartTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {
    '<s>': 0,
    '<pad>': 1,
    '</s>': 2,
    '<unk>': 3,
    p: 4,
    i: 5,
    c: 6,
    k: 7,
    Ġ: 8,
    t: 9,
    h: 10,
    e: 11,
    u: 12,
    b: 13,
    Ġt: 14,
    he: 15,
    Ġthe: 16,
    ic: 17,
    ick: 18,
    pick: 19,
    cu: 20,
    Ġcu: 21,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      special(0, '<s>', true),
      special(1, '<pad>', true),
      special(2, '</s>', true),
      special(3, '<unk>', true),
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: ['Ġ t', 'h e', 'Ġt he', 'i c', 'ic k', 'p ick', 'c u', 'Ġ cu'],
    },
  };
}

function bartTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'BartTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    model_max_length: 1024,
    add_prefix_space: false,
  };
}

/**
 * CLIP-style BPE: NFC + whitespace collapse + lowercase, CLIP's split regex, byte-level without regex,
 * `</w>` end-of-word suffix, unk = <|endoftext|>, a TemplateProcessing post-processor
 * `<|startoftext|> $A <|endoftext|>` (openai/clip-vit-base-patch32 ships the equivalent RobertaProcessing).
 * As in CLIP, id 0 is '!' and the end-of-text token has the largest id.
 *
 *   merges (rank): 0 'i c' → ic(17)   1 'ic k</w>' → ick</w>(18)   2 'p ick</w>' → pick</w>(19)
 *                  3 't h' → th(20)   4 'th e</w>' → the</w>(21)   5 'c u' → cu(22)   6 'b e</w>' → be</w>(23)
 */
function clipTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {
    '!': 0,
    b: 1,
    c: 2,
    e: 3,
    h: 4,
    i: 5,
    k: 6,
    p: 7,
    t: 8,
    u: 9,
    'b</w>': 10,
    'c</w>': 11,
    'e</w>': 12,
    'h</w>': 13,
    'k</w>': 14,
    't</w>': 15,
    '!</w>': 16,
    ic: 17,
    'ick</w>': 18,
    'pick</w>': 19,
    th: 20,
    'the</w>': 21,
    cu: 22,
    'be</w>': 23,
    '<|startoftext|>': 24,
    '<|endoftext|>': 25,
  };
  const sot = { SpecialToken: { id: '<|startoftext|>', type_id: 0 } };
  const eot = { SpecialToken: { id: '<|endoftext|>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(24, '<|startoftext|>', true), special(25, '<|endoftext|>', false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [sot, { Sequence: { id: 'A', type_id: 0 } }, eot],
      pair: [sot, { Sequence: { id: 'A', type_id: 0 } }, eot, { Sequence: { id: 'B', type_id: 0 } }, eot],
      special_tokens: {
        '<|startoftext|>': { id: '<|startoftext|>', ids: [24], tokens: ['<|startoftext|>'] },
        '<|endoftext|>': { id: '<|endoftext|>', ids: [25], tokens: ['<|endoftext|>'] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: ['i c', 'ic k</w>', 'p ick</w>', 't h', 'th e</w>', 'c u', 'b e</w>'],
    },
  };
}

function clipTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'CLIPTokenizer',
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    model_max_length: 77,
    do_lower_case: true,
  };
}

type Json = Record<string, unknown>;

const root = mkdtempSync(join(tmpdir(), 'hf-tokenizer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;

/** Writes a tokenizer folder; `config: null` leaves tokenizer_config.json out, a string is written verbatim. */
function folder(tokenizer: Json | string | null, config: Json | string | null): string {
  const dir = join(root, `tok-${folders++}`);
  mkdirSync(dir);
  const write = (name: string, v: Json | string | null) => {
    if (v !== null) writeFileSync(join(dir, name), typeof v === 'string' ? v : JSON.stringify(v));
  };
  write('tokenizer.json', tokenizer);
  write('tokenizer_config.json', config);
  return dir;
}

const bartDir = folder(bartTokenizerJson(), bartTokenizerConfig());
const clipDir = folder(clipTokenizerJson(), clipTokenizerConfig());
const bart = (contextLength?: number) => loadHfTokenizer(bartDir, { kind: 'bart', contextLength });
const clip = (contextLength?: number) => loadHfTokenizer(clipDir, { kind: 'clip', contextLength });
const ids = (a: Int32Array) => Array.from(a);

describe('loadHfTokenizer: BART (Florence-2 / X-VLA)', () => {
  it('encodes "pick the cube" to hand-computed ids: <s> … </s>, then <pad> = 1', async () => {
    const tok = await bart(10);
    // ByteLevel split: 'pick' | ' the' | ' cube'  →  'pick' | 'Ġthe' | 'Ġcube'
    //   pick : p i c k  →(r3 i c) p ic k  →(r4 ic k) p ick  →(r5 p ick) pick = 19
    //   Ġthe : Ġ t h e  →(r0 Ġ t) Ġt h e  →(r1 h e) Ġt he  →(r2 Ġt he) Ġthe = 16
    //   Ġcube: Ġ c u b e →(r6 c u) Ġ cu b e →(r7 Ġ cu) Ġcu b e; no merge for (Ġcu b), (b e) → 21, 13, 11
    expect(ids(tok.encode('pick the cube'))).toEqual([0, 19, 16, 21, 13, 11, 2, 1, 1, 1]);
    expect(tok.encodeContent('pick the cube')).toEqual([19, 16, 21, 13, 11]);
    expect([tok.bosId, tok.eosId, tok.padId, tok.vocabSize, tok.kind]).toEqual([0, 2, 1, 22, 'bart']);
  });

  it("defaults to X-VLA's max_length 50", async () => {
    const tok = await bart();
    expect(tok.contextLength).toBe(50);
    const e = ids(tok.encode('pick the'));
    expect(e.slice(0, 5)).toEqual([0, 19, 16, 2, 1]);
    expect(e.length).toBe(50);
    expect(e.slice(4).every((i) => i === 1)).toBe(true);
  });

  it("agrees with the file's RobertaProcessing post-processor when nothing is cut", async () => {
    const lib = new HfLibTokenizer(bartTokenizerJson(), bartTokenizerConfig());
    const tok = await bart(12);
    for (const text of ['pick the cube', 'the pick', '']) {
      const ref = lib.encode(text).ids; // add_special_tokens: true
      expect(ids(tok.encode(text)).slice(0, ref.length)).toEqual(ref);
    }
  });

  it('truncation keeps </s> last; exact fit has no padding; empty text is <s></s> + padding', async () => {
    expect(ids((await bart(5)).encode('pick the cube'))).toEqual([0, 19, 16, 21, 2]); // 5 content ids cut to 3
    expect(ids((await bart(7)).encode('pick the cube'))).toEqual([0, 19, 16, 21, 13, 11, 2]); // exact fit
    expect(ids((await bart(2)).encode('pick the cube'))).toEqual([0, 2]); // nothing of the text fits
    expect(ids((await bart(4)).encode(''))).toEqual([0, 2, 1, 1]);
  });

  it('decodes back to the text (padding and specials dropped)', async () => {
    const tok = await bart(10);
    expect(tok.decode(tok.encode('pick the cube'))).toBe('pick the cube');
    expect(tok.decode(tok.encode(''))).toBe('');
  });

  it('is accepted by XvlaModel (Florence-2 layout at toy sizes) as options.tokenizer', async () => {
    const tok = await bart(6);
    const vl = florenceToyVl({ vocabSize: tok.vocabSize, contextLength: tok.contextLength });
    const m = new XvlaModel(xvlaConfig('tiny', { vl, cameras: ['a'] }), { tokenizer: tok });
    const t = m.tokenize(['pick the cube', 'cube']);
    expect(t.shape).toEqual([2, 6]);
    expect(t.dtype).toBe('int32');
    // row 0 cut to 4 text ids; row 1 'cube' has no leading space: c u b e →(r6) cu b e, no r7 → 20, 13, 11
    expect(Array.from(t.dataSync())).toEqual([0, 19, 16, 21, 13, 2, 0, 20, 13, 11, 2, 1]);
    // the ids run through the Florence-2 encoder (DaViT + BART) and the conditioning
    const shape = tf.tidy(() => {
      const cond = m.condition({
        images: tf.randomUniform([2, 1, 64, 64, 3], 0, 1, 'float32', 1),
        viewMask: tf.ones([2, 1], 'bool'),
        ids: t,
        proprio: tf.zeros([2, 20]),
        domain: tf.tensor1d([0, 1], 'int32'),
      });
      expect(tf.all(tf.isFinite(cond.tokens)).dataSync()[0]).toBe(1);
      return cond.tokens.shape;
    });
    expect(shape[0]).toBe(2); // [B, Nv + Na, d]
    t.dispose();
    m.dispose();
  });
});

describe('loadHfTokenizer: CLIP (GR-1 text tower)', () => {
  it('encodes to hand-computed ids: <|startoftext|> … <|endoftext|>, zero padding', async () => {
    const tok = await clip(8);
    // normalizer: NFC, \s+ → ' ', lowercase; split regex → 'pick' | 'the' | 'cube'; '</w>' ends each word
    //   pick : p i c k</w>   →(r0 i c) p ic k</w> →(r1 ic k</w>) p ick</w> →(r2) pick</w> = 19
    //   the  : t h e</w>     →(r3 t h) th e</w>   →(r4 th e</w>) the</w> = 21
    //   cube : c u b e</w>   →(r5 c u) cu b e</w> →(r6 b e</w>) cu be</w> = 22, 23
    expect(ids(tok.encode('pick the cube'))).toEqual([24, 19, 21, 22, 23, 25, 0, 0]);
    expect(ids(tok.encode('  Pick\tthe   CUBE '))).toEqual([24, 19, 21, 22, 23, 25, 0, 0]);
    // '!' is its own pre-token: '!</w>' = 16
    expect(ids(tok.encode('cube!'))).toEqual([24, 22, 23, 16, 25, 0, 0, 0]);
    expect([tok.bosId, tok.eosId, tok.padId, tok.vocabSize, tok.kind]).toEqual([24, 25, 0, 26, 'clip']);
  });

  it('defaults to the 77-token CLIP context', async () => {
    const tok = await clip();
    expect(tok.contextLength).toBe(77);
    const e = ids(tok.encode('the cube'));
    expect(e.slice(0, 6)).toEqual([24, 21, 22, 23, 25, 0]);
    expect(e.length).toBe(77);
  });

  it("agrees with the file's post-processor (TemplateProcessing, and RobertaProcessing as HF ships CLIP)", async () => {
    const roberta = {
      ...clipTokenizerJson(),
      post_processor: {
        type: 'RobertaProcessing',
        sep: ['<|endoftext|>', 25],
        cls: ['<|startoftext|>', 24],
        trim_offsets: false,
        add_prefix_space: false,
      },
    };
    const tok = await clip(10);
    const tokRoberta = await loadHfTokenizer(folder(roberta, clipTokenizerConfig()), {
      kind: 'clip',
      contextLength: 10,
    });
    for (const json of [clipTokenizerJson(), roberta]) {
      const lib = new HfLibTokenizer(json, clipTokenizerConfig());
      for (const text of ['pick the cube', 'Cube!', '']) {
        const ref = lib.encode(text).ids;
        expect(ids(tok.encode(text)).slice(0, ref.length)).toEqual(ref);
        expect(ids(tokRoberta.encode(text))).toEqual(ids(tok.encode(text)));
      }
    }
  });

  it('truncation keeps <|endoftext|> last (as open_clip); exact fit; empty text', async () => {
    expect(ids((await clip(5)).encode('pick the cube'))).toEqual([24, 19, 21, 22, 25]); // 'cube' cut mid-word
    expect(ids((await clip(6)).encode('pick the cube'))).toEqual([24, 19, 21, 22, 23, 25]);
    expect(ids((await clip(2)).encode('pick the cube'))).toEqual([24, 25]);
    expect(ids((await clip(4)).encode(''))).toEqual([24, 25, 0, 0]);
  });

  it('argmax(ids), where GR-1 pools, is the end-of-text position in every case', async () => {
    const tok = await clip(6);
    const texts = ['', 'cube', 'pick the cube', 'pick the cube pick the cube'];
    const batch = tokenizeBatch(tok, texts);
    const argmax = tf.argMax(batch, 1);
    const eot = texts.map((t) => ids(tok.encode(t)).indexOf(tok.eosId));
    expect(eot).toEqual([1, 3, 5, 5]);
    expect(Array.from(argmax.dataSync())).toEqual(eot);
    tf.dispose([batch, argmax]);
  });

  it("GR-1's TextEncoder pools at the end-of-text token of these ids", async () => {
    const tok = await clip(8);
    const cfg: Gr1TextConfig = {
      tokenizer: 'clip',
      vocabSize: tok.vocabSize,
      contextLength: tok.contextLength,
      width: 8,
      layers: 1,
      heads: 2,
      outDim: 4,
      activation: 'quick_gelu',
      frozen: false,
    };
    const enc = new TextEncoder(cfg, new Rng(0));
    const texts = ['pick the cube', '', 'cube!'];
    const batch = tokenizeBatch(tok, texts);
    const [got, want, last] = tf.tidy(() => {
      const out = enc.forward(batch);
      // reference: the (causal) transformer output at the index of <|endoftext|>, found without argmax
      const h = enc.transformer.forward(tf.add(enc.token_embedding.forward(batch), enc.positional_embedding));
      const rows = texts.map((t, r) => {
        const p = ids(tok.encode(t)).indexOf(tok.eosId);
        return tf.reshape(tf.slice(h, [r, p, 0], [1, 1, cfg.width]), [1, cfg.width]);
      });
      const atLast = tf.reshape(tf.slice(h, [0, 7, 0], [3, 1, cfg.width]), [3, cfg.width]);
      return [
        out,
        tf.matMul(tf.concat(rows, 0), enc.text_projection),
        tf.matMul(atLast, enc.text_projection),
      ];
    });
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    // and pooling elsewhere (the last padding slot) would give something else
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, last))).dataSync()[0]);
    expect(diff).toBeGreaterThan(1e-4);
    tf.dispose([batch, got, want, last]);
    enc.dispose();
  });

  it('is accepted by Gr1Backbone (text.tokenizer "clip") as options.tokenizer', async () => {
    const tok = await clip(8);
    const base = gr1Config('tiny');
    const cfg = gr1Config('tiny', {
      text: { ...base.text, tokenizer: 'clip', vocabSize: tok.vocabSize, contextLength: tok.contextLength },
    });
    const bb = new Gr1Backbone(cfg, { seed: 0, tokenizer: tok });
    const t = bb.tokenize(['pick the cube', 'cube']);
    expect(t.shape).toEqual([2, 8]);
    expect(Array.from(t.dataSync())).toEqual([24, 19, 21, 22, 23, 25, 0, 0, 24, 22, 23, 25, 0, 0, 0, 0]);
    const e = bb.text.forward(t);
    expect(e.shape).toEqual([2, cfg.text.outDim]);
    tf.dispose([t, e]);
    bb.dispose();
  });

  it('rejects text that would put an end-of-text token inside the instruction', async () => {
    const tok = await clip(8);
    expect(() => tok.encode('pick <|endoftext|> cube')).toThrow(/start\/end-of-text token/);
    // 'z' is outside this vocabulary; CLIP maps unknown pieces to its unk token = <|endoftext|>
    expect(() => tok.encode('zebra')).toThrow(/outside the vocabulary/);
  });

  it('decodes back to the text', async () => {
    const tok = await clip(8);
    expect(tok.decode(tok.encode('Pick the cube!'))).toBe('pick the cube!');
  });
});

describe('loadHfTokenizer: errors', () => {
  it('names tokenizer.json when the folder or the file is missing', async () => {
    const missing = join(root, 'no-such-folder');
    await expect(loadHfTokenizer(missing, { kind: 'clip' })).rejects.toThrow(
      `cannot read ${join(missing, 'tokenizer.json')} (ENOENT)`,
    );
    const dir = folder(null, clipTokenizerConfig());
    await expect(loadHfTokenizer(dir, { kind: 'clip' })).rejects.toThrow(join(dir, 'tokenizer.json'));
  });

  it('names tokenizer.json when it is not JSON or not a BPE tokenizer', async () => {
    const bad = folder('{"model": {', null);
    await expect(loadHfTokenizer(bad, { kind: 'bart' })).rejects.toThrow(
      new RegExp(`${join(bad, 'tokenizer.json').replaceAll('\\', '\\\\')} is not valid JSON`),
    );
    const cases: [Json | string, RegExp][] = [
      ['[1, 2]', /tokenizer\.json must be a JSON object/],
      [{ ...bartTokenizerJson(), model: undefined }, /tokenizer\.json has no "model" object/],
      [
        { ...bartTokenizerJson(), model: { ...(bartTokenizerJson().model as Json), type: 'WordPiece' } },
        /model\.type is 'WordPiece', expected 'BPE'/,
      ],
      [
        { ...bartTokenizerJson(), model: { ...(bartTokenizerJson().model as Json), merges: undefined } },
        /model\.merges/,
      ],
      [
        { ...bartTokenizerJson(), model: { ...(bartTokenizerJson().model as Json), vocab: [] } },
        /model\.vocab/,
      ],
      [{ ...bartTokenizerJson(), added_tokens: {} }, /added_tokens must be an array/],
      [
        { ...bartTokenizerJson(), normalizer: { type: 'NoSuchNormalizer' } },
        /tokenizer\.json is malformed or unsupported/,
      ],
    ];
    for (const [json, msg] of cases) {
      const dir = folder(json, null);
      const p = loadHfTokenizer(dir, { kind: 'bart' });
      await expect(p).rejects.toThrow(msg);
      await expect(p).rejects.toThrow(dir);
    }
  });

  it('names tokenizer_config.json when it is malformed; a missing one is fine', async () => {
    const dir = folder(bartTokenizerJson(), 'not json');
    await expect(loadHfTokenizer(dir, { kind: 'bart' })).rejects.toThrow(
      `${join(dir, 'tokenizer_config.json')} is not valid JSON`,
    );
    const arr = folder(bartTokenizerJson(), '[]');
    await expect(loadHfTokenizer(arr, { kind: 'bart' })).rejects.toThrow(
      /tokenizer_config\.json must be a JSON object/,
    );
    const none = await loadHfTokenizer(folder(bartTokenizerJson(), null), { kind: 'bart', contextLength: 4 });
    expect(ids(none.encode('pick'))).toEqual([0, 19, 2, 1]);
  });

  it('names the missing special token (and the file)', async () => {
    const noEos = bartTokenizerJson();
    const model = noEos.model as Json;
    const vocab = { ...(model.vocab as Record<string, number>) };
    delete vocab['</s>'];
    noEos.model = { ...model, vocab };
    noEos.added_tokens = (noEos.added_tokens as Json[]).filter((t) => t.content !== '</s>');
    const dir = folder(noEos, null);
    const p = loadHfTokenizer(dir, { kind: 'bart' });
    await expect(p).rejects.toThrow(/no end token '<\/s>'/);
    await expect(p).rejects.toThrow(join(dir, 'tokenizer.json'));
    // a BART folder is not a CLIP tokenizer: no <|startoftext|>
    await expect(loadHfTokenizer(bartDir, { kind: 'clip' })).rejects.toThrow(
      /no start token '<\|startoftext\|>'/,
    );
    // a CLIP folder has no <s>
    await expect(loadHfTokenizer(clipDir, { kind: 'bart' })).rejects.toThrow(/no start token '<s>'/);
  });

  it('refuses a CLIP vocabulary whose end-of-text token is not the largest id (argmax pooling)', async () => {
    const json = clipTokenizerJson();
    const model = json.model as Json;
    json.model = { ...model, vocab: { ...(model.vocab as Record<string, number>), 'z</w>': 26 } };
    await expect(loadHfTokenizer(folder(json, null), { kind: 'clip' })).rejects.toThrow(
      /'<\|endoftext\|>' has id 25 but the largest id is 26/,
    );
  });

  it('checks kind and contextLength', () => {
    const j = clipTokenizerJson();
    expect(() => hfTokenizerFromJson(j, {}, { kind: 'clip', contextLength: 1 })).toThrow(/integer ≥ 2/);
    expect(() => hfTokenizerFromJson(j, {}, { kind: 'clip', contextLength: 7.5 })).toThrow(/integer ≥ 2/);
    expect(() => hfTokenizerFromJson(j, {}, { kind: 'gpt2' } as unknown as HfTokenizerOptions)).toThrow(
      /'clip' or 'bart'/,
    );
    expect(hfTokenizerFromJson(j, {}, { kind: 'clip', contextLength: 3 }).encode('the')).toEqual(
      new Int32Array([24, 21, 25]),
    );
  });
});
