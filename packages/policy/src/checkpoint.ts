/**
 * Checkpoint folders: `config.json`, `model.safetensors`, `stats.json`. `savePolicy` writes a temp folder
 * beside the target and renames it into place, so a reader sees the old checkpoint or the whole new one.
 * The config names the backbone (`gr1` | `xvla`), so `loadPolicy` rebuilds the right policy class. A
 * policy whose tokenizer came from a Hugging Face folder (CLIP for GR-1 `paper`, BART for X-VLA's
 * Florence-2) carries it in `tokenizer/`, so the checkpoint runs without the original folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isHfTokenizer, loadHfTokenizer, saveHfTokenizer, type Tokenizer } from '@anchor-refine/backbones';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors, toTensors } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import {
  type AnyPolicy,
  type AnyPolicyConfig,
  createPolicy,
  externalTokenizer,
  validateAnyPolicyConfig,
} from './any.js';
import { checkConfigAgainstHeader } from './checkpoint-shapes.js';
import type { ExecutionConfig } from './config.js';
import type { PolicyStats } from './stats.js';

export const CHECKPOINT_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  stats: 'stats.json',
  /** tokenizer.json + tokenizer_config.json, only for configs with an external tokenizer */
  tokenizer: 'tokenizer',
} as const;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes `policy` to the folder `dir` atomically (replacing an existing checkpoint there). */
export async function savePolicy(
  policy: AnyPolicy,
  dir: string,
  extra: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(dir)}.${tag}.tmp`);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, CHECKPOINT_FILES.config), `${JSON.stringify(policy.config, null, 2)}\n`);
    await writeFile(
      join(tmp, CHECKPOINT_FILES.stats),
      `${JSON.stringify(policy.normalizationStats, null, 2)}\n`,
    );
    const tok = policy.tokenizer;
    if (isHfTokenizer(tok)) await saveHfTokenizer(tok, join(tmp, CHECKPOINT_FILES.tokenizer));
    await saveSafetensors(join(tmp, CHECKPOINT_FILES.model), policy.stateDict(), {
      format: 'pt',
      ...(extra.metadata ?? {}),
    });
    let old: string | undefined;
    if (await exists(dir)) {
      old = join(parent, `.${basename(dir)}.${tag}.old`);
      await rename(dir, old);
    }
    await rename(tmp, dir);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`loadPolicy: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`loadPolicy: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export interface LoadPolicyOptions {
  /** Override how chunks are executed (e.g. evaluate with a shorter execution horizon). */
  execution?: Partial<ExecutionConfig>;
}

/** The validated config of a checkpoint folder (no weights read); errors name the file. */
export async function loadPolicyConfig(dir: string, opts: LoadPolicyOptions = {}): Promise<AnyPolicyConfig> {
  const config = (await readJson(join(dir, CHECKPOINT_FILES.config))) as AnyPolicyConfig;
  if (opts.execution && config && typeof config === 'object')
    config.execution = { ...config.execution, ...opts.execution };
  try {
    validateAnyPolicyConfig(config);
  } catch (err) {
    throw new Error(`loadPolicy: ${join(dir, CHECKPOINT_FILES.config)}: ${(err as Error).message}`);
  }
  return config;
}

/**
 * Reads a checkpoint folder of either backbone; every file is validated and errors name the file. The
 * config is checked against the weights' header before the model is built, so a config that does not fit
 * its weights is refused (naming the field) without allocating the model it describes.
 */
export async function loadPolicy(dir: string, opts: LoadPolicyOptions = {}): Promise<AnyPolicy> {
  const config = await loadPolicyConfig(dir, opts);
  const modelPath = join(dir, CHECKPOINT_FILES.model);
  let header: Awaited<ReturnType<typeof readSafetensorsHeader>>;
  try {
    header = await readSafetensorsHeader(modelPath);
  } catch (err) {
    throw new Error(`loadPolicy: ${modelPath}: ${(err as Error).message}`);
  }
  try {
    checkConfigAgainstHeader(config, header.entries);
  } catch (err) {
    throw new Error(
      `loadPolicy: ${join(dir, CHECKPOINT_FILES.config)}: ${(err as Error).message} (${modelPath})`,
    );
  }
  const stats = (await readJson(join(dir, CHECKPOINT_FILES.stats))) as PolicyStats;
  let tokenizer: Tokenizer | undefined;
  const ext = externalTokenizer(config);
  if (ext) {
    const tokDir = join(dir, CHECKPOINT_FILES.tokenizer);
    if (!(await exists(join(tokDir, 'tokenizer.json'))))
      throw new Error(
        `loadPolicy: ${tokDir}/tokenizer.json is missing; this config's ${ext.kind === 'clip' ? 'CLIP' : 'BART (Florence-2)'} tokenizer is not bundled — copy the checkpoint's Hugging Face tokenizer folder there`,
      );
    tokenizer = await loadHfTokenizer(tokDir, ext);
  }
  let policy: AnyPolicy;
  try {
    policy = createPolicy(config, stats, { tokenizer });
  } catch (err) {
    throw new Error(`loadPolicy: ${join(dir, CHECKPOINT_FILES.stats)}: ${(err as Error).message}`);
  }
  let tensors: Map<string, tf.Tensor> | undefined;
  try {
    const file = await loadSafetensors(modelPath);
    tensors = toTensors(file.tensors);
    policy.loadStateDict(tensors, { strict: true });
  } catch (err) {
    policy.dispose();
    throw new Error(`loadPolicy: ${modelPath}: ${(err as Error).message}`);
  } finally {
    if (tensors) tf.dispose([...tensors.values()]);
  }
  return policy;
}
