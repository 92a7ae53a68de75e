/**
 * `Tokenizer`s built from a LOCAL Hugging Face tokenizer folder (`tokenizer.json` + `tokenizer_config.json`,
 * as shipped with CLIP ViT-B/32 and Florence-2 / BART checkpoints). Nothing is downloaded or bundled: the
 * byte-level BPE itself (normalizer, pre-tokenizer, merges, added tokens) is run by `@huggingface/tokenizers`
 * (pure JS port of the Rust `tokenizers` pipeline); this file only fixes the special-token / padding /
 * truncation conventions each backbone was trained with.
 *
 *   kind 'clip' (GR-1 text tower, OpenAI CLIP ViT-B/32; research/gr1-libero-calvin.md §1 `clip.tokenize`):
 *     [<|startoftext|>, …text…, <|endoftext|>, 0, 0, …]                          contextLength 77
 *   kind 'bart' (Florence-2 encoder of X-VLA; research/xvla.md "Text"):
 *     [<s> (0), …text…, </s> (2), <pad> (1), <pad>, …]                            contextLength 50
 *
 * The special tokens are added here (the text is encoded with `add_special_tokens: false`) rather than by
 * the file's post-processor, so truncation can keep the end token last, exactly as the reference
 * tokenizers do (open_clip: `tokens[:77]; tokens[-1] = eot`; HF `truncation=True, max_length=50`: the text
 * is cut to 48 ids, then `<s>`/`</s>` are added). For untruncated text the result equals the post-processor's
 * (CLIP's RobertaProcessing / TemplateProcessing, BART's RobertaProcessing) — tested.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from '../gr1/tokenizer.js';

export type HfTokenizerKind = 'clip' | 'bart';

export interface HfTokenizerOptions {
  kind: HfTokenizerKind;
  /** Ids per text after padding / truncation (≥ 2). Defaults: clip 77, bart 50. */
  contextLength?: number;
}

/** A `Tokenizer` backed by a Hugging Face `tokenizer.json`, with the ids of its conventions. */
export interface HfTokenizer extends Tokenizer {
  readonly kind: HfTokenizerKind;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** The text's ids without special tokens, padding or truncation. */
  encodeContent(text: string): number[];
  /** Text of the ids between the start token and the first end token (padding and specials dropped). */
  decode(ids: ArrayLike<number>): string;
  /** The parsed `tokenizer.json` / `tokenizer_config.json` it was built from (so a checkpoint can carry it). */
  readonly files: { readonly tokenizer: unknown; readonly config: unknown };
}

/** Writes `dir/tokenizer.json` and `dir/tokenizer_config.json` (what `loadHfTokenizer` reads back). */
export async function saveHfTokenizer(tok: HfTokenizer, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok.files.tokenizer));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tok.files.config));
}

/** Is `tok` a tokenizer built from a Hugging Face folder (as opposed to the byte tokenizer)? */
export function isHfTokenizer(tok: unknown): tok is HfTokenizer {
  return typeof tok === 'object' && tok !== null && 'files' in tok && 'kind' in tok;
}

/** Special tokens and padding per kind (see the file comment for the sources). */
const CONVENTIONS: Record<
  HfTokenizerKind,
  { bos: string; eos: string; pad: { token: string } | { id: number }; contextLength: number }
> = {
  // open_clip / OpenAI `clip.tokenize` pad with id 0 (not HF CLIPTokenizer's pad_token <|endoftext|>):
  // the text tower pools at argmax(ids), which is the end-of-text position only if EOT (49407, the largest
  // id) occurs once per row. Zero padding keeps it unique; EOT padding would also work with a first-index
  // argmax but gives a different padding than the one CLIP was trained with.
  clip: { bos: '<|startoftext|>', eos: '<|endoftext|>', pad: { id: 0 }, contextLength: 77 },
  // BART: <s> = 0, <pad> = 1, </s> = 2 in facebook/bart-large and Florence-2's vocabulary; X-VLA's
  // processor pads with <pad> to max_length 50 (and the BART encoder attends to the padding: no mask).
  bart: { bos: '<s>', eos: '</s>', pad: { token: '<pad>' }, contextLength: 50 },
};

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads `dir/tokenizer.json` (required) and `dir/tokenizer_config.json` (optional: `{}` when absent; it only
 * carries decoding / cleanup flags for these byte-level BPEs) and builds the tokenizer for `kind`.
 */
export async function loadHfTokenizer(dir: string, opts: HfTokenizerOptions): Promise<HfTokenizer> {
  const tokPath = join(dir, 'tokenizer.json');
  const cfgPath = join(dir, 'tokenizer_config.json');
  const json = await readJson(tokPath, true);
  const config = (await readJson(cfgPath, false)) ?? {};
  return hfTokenizerFromJson(json, config, opts, tokPath, cfgPath);
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return undefined;
    throw new Error(
      `loadHfTokenizer: cannot read ${path} (${code ?? String(e)}); expected a Hugging Face tokenizer folder ` +
        'with tokenizer.json (+ tokenizer_config.json), e.g. from the CLIP ViT-B/32 or Florence-2 checkpoint',
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`loadHfTokenizer: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Builds the tokenizer from already-parsed `tokenizer.json` / `tokenizer_config.json` contents (no file
 * access, e.g. in a browser). `source` / `configSource` only name the inputs in error messages.
 */
export function hfTokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  opts: HfTokenizerOptions,
  source = 'tokenizer.json',
  configSource = 'tokenizer_config.json',
): HfTokenizer {
  const conv = CONVENTIONS[opts.kind];
  if (conv === undefined) {
    throw new Error(`loadHfTokenizer: kind must be 'clip' or 'bart', got '${String(opts.kind)}'`);
  }
  const contextLength = opts.contextLength ?? conv.contextLength;
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new Error(
      `loadHfTokenizer: contextLength must be an integer ≥ 2 (start + end token), got ${contextLength}`,
    );
  }
  const json = checkTokenizerJson(tokenizerJson, source);
  if (!isObject(tokenizerConfig)) {
    throw new Error(`loadHfTokenizer: ${configSource} must be a JSON object`);
  }

  let lib: HfLibTokenizer;
  try {
    lib = new HfLibTokenizer(json, tokenizerConfig);
  } catch (e) {
    throw new Error(`loadHfTokenizer: ${source} is malformed or unsupported (${(e as Error).message})`);
  }

  const vocab = lib.get_vocab(true);
  const idOf = (token: string, role: string): number => {
    const id = lib.token_to_id(token);
    if (id === undefined) {
      throw new Error(
        `loadHfTokenizer: ${source} has no ${role} token '${token}' in its vocabulary or added_tokens ` +
          `(kind '${opts.kind}' needs it; is this the right tokenizer folder?)`,
      );
    }
    return id;
  };
  const bosId = idOf(conv.bos, 'start');
  const eosId = idOf(conv.eos, 'end');
  const padId = 'id' in conv.pad ? conv.pad.id : idOf(conv.pad.token, 'padding');
  let maxId = -1;
  for (const id of vocab.values()) maxId = Math.max(maxId, id);
  const vocabSize = maxId + 1;

  if (opts.kind === 'clip' && eosId !== maxId) {
    // GR-1's TextEncoder pools at argmax(ids): correct only if EOT is the largest id (49407 in CLIP).
    throw new Error(
      `loadHfTokenizer: ${source}: '${conv.eos}' has id ${eosId} but the largest id is ${maxId}; the CLIP text ` +
        'tower pools at argmax(ids), so the end-of-text token must have the largest id (49407 in CLIP ViT-B/32)',
    );
  }

  const files = { tokenizer: tokenizerJson, config: tokenizerConfig };
  return new HfBpeTokenizer(lib, opts.kind, contextLength, vocabSize, bosId, eosId, padId, source, files);
}

/** Structural checks with messages naming the file (the library's own errors are terse). */
function checkTokenizerJson(v: unknown, source: string): JsonObject {
  if (!isObject(v)) throw new Error(`loadHfTokenizer: ${source} must be a JSON object`);
  const model = v.model;
  if (!isObject(model)) throw new Error(`loadHfTokenizer: ${source} has no "model" object`);
  if (model.type !== undefined && model.type !== 'BPE') {
    throw new Error(
      `loadHfTokenizer: ${source}: model.type is '${String(model.type)}', expected 'BPE' (CLIP and BART are byte-level BPE)`,
    );
  }
  if (!isObject(model.vocab)) throw new Error(`loadHfTokenizer: ${source}: model.vocab must be an object`);
  if (!Array.isArray(model.merges))
    throw new Error(`loadHfTokenizer: ${source}: model.merges must be an array`);
  if (v.added_tokens !== undefined && !Array.isArray(v.added_tokens)) {
    throw new Error(`loadHfTokenizer: ${source}: added_tokens must be an array`);
  }
  // The library requires these keys to be present (the Rust serializer always writes them, possibly null).
  return {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...v,
    added_tokens: v.added_tokens ?? [],
  };
}

class HfBpeTokenizer implements HfTokenizer {
  constructor(
    private readonly lib: HfLibTokenizer,
    readonly kind: HfTokenizerKind,
    readonly contextLength: number,
    readonly vocabSize: number,
    readonly bosId: number,
    readonly eosId: number,
    readonly padId: number,
    private readonly source: string,
    readonly files: { readonly tokenizer: unknown; readonly config: unknown },
  ) {}

  encodeContent(text: string): number[] {
    const { ids } = this.lib.encode(text, { add_special_tokens: false });
    for (const id of ids) {
      // Defensive: the library maps a token it cannot look up to unk_token_id, undefined without an unk token.
      // (Its BPE model silently DROPS pieces missing from the vocabulary when unk_token is null; the shipped
      // CLIP / BART vocabularies hold all 256 byte symbols, so byte-level BPE never produces such pieces.)
      if (!Number.isInteger(id)) {
        throw new Error(`HfTokenizer (${this.source}): '${text}' produced a token outside the vocabulary`);
      }
      // CLIP: an EOT inside the text (a literal '<|endoftext|>', or an unknown character mapped to the unk
      // token, which CLIP sets to <|endoftext|>) would move the argmax pooling off the real end of text.
      if (this.kind === 'clip' && (id === this.eosId || id === this.bosId)) {
        throw new Error(
          `HfTokenizer (${this.source}): '${text}' contains a CLIP start/end-of-text token (a literal special ` +
            'token or characters outside the vocabulary); the text tower pools at the first end-of-text token',
        );
      }
    }
    return ids;
  }

  /** [start, text (cut to contextLength − 2), end, padding…]: the end token is always kept. */
  encode(text: string): Int32Array {
    const content = this.encodeContent(text);
    const n = Math.min(content.length, this.contextLength - 2);
    const ids = new Int32Array(this.contextLength).fill(this.padId);
    ids[0] = this.bosId;
    for (let i = 0; i < n; i++) ids[1 + i] = content[i];
    ids[1 + n] = this.eosId;
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    const all = Array.from(ids);
    const start = all[0] === this.bosId ? 1 : 0;
    const endAt = all.indexOf(this.eosId, start);
    const body = all.slice(start, endAt < 0 ? all.length : endAt);
    if (body.length === 0) return '';
    return this.lib.decode(body, { skip_special_tokens: true }).trim();
  }
}
