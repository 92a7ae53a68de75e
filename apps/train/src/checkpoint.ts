/**
 * Training checkpoints: `<phaseDir>/checkpoints/step-XXXXXXXX/` holding the policy folder (`policy/`),
 * the optimizer moments (`optimizer.safetensors`), the weight average when the run keeps one
 * (`ema.safetensors`), `state.json` (step, phase) and `manifest.json`
 * (sha256 of every file, written last). A checkpoint is assembled in a hidden temp folder and renamed
 * into place, so a kill -9 leaves either the whole checkpoint or none. Loading verifies every checksum;
 * a corrupt checkpoint is refused (never repaired or overwritten).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Ema, Optimizer } from '@anchor-refine/nn';
import { loadSafetensors, saveSafetensors, toTensors } from '@anchor-refine/nn';
import { type AnyPolicy, loadPolicy, savePolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';

export interface TrainingState {
  phase: 'anchor' | 'refine';
  /** Optimizer steps completed. */
  step: number;
  /** Unix ms when written. */
  time: number;
}

export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`checkpoint ${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

const STEP_RE = /^step-(\d{8})$/;
const OPTIMIZER_FILE = 'optimizer.safetensors';
const EMA_FILE = 'ema.safetensors';
export const stepName = (step: number) => `step-${String(step).padStart(8, '0')}`;
export const checkpointsDir = (phaseDir: string) => join(phaseDir, 'checkpoints');

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Complete checkpoints of a phase, oldest first. */
export async function listCheckpoints(phaseDir: string): Promise<{ step: number; dir: string }[]> {
  const root = checkpointsDir(phaseDir);
  if (!existsSync(root)) return [];
  const out: { step: number; dir: string }[] = [];
  for (const name of await readdir(root)) {
    const m = STEP_RE.exec(name);
    if (m) out.push({ step: Number(m[1]), dir: join(root, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Runs a write to the checkpoints folder `root`; a permission or read-only-filesystem error becomes a
 * CheckpointError naming the folder, the path and operation that failed, and what to do.
 */
async function writingTo<T>(root: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === undefined || !UNWRITABLE.has(e.code)) throw err;
    const what = e.path === undefined ? '' : ` (${e.syscall ?? 'write'} ${e.path})`;
    throw new CheckpointError(
      root,
      `cannot write checkpoints here: ${e.code}${what}. The folder is read-only (a read-only mount, an immutable folder or one you lack write permission on). Make it writable (e.g. chmod -R u+w), or train into a writable folder with --out <dir>.`,
    );
  }
}

/** Removes temp folders a killed run left behind (never a complete checkpoint). */
export async function removeStaleTemps(phaseDir: string): Promise<void> {
  const root = checkpointsDir(phaseDir);
  if (!existsSync(root)) return;
  await writingTo(root, async () => {
    for (const name of await readdir(root))
      if (name.startsWith('.') && name.includes('.tmp'))
        await rm(join(root, name), { recursive: true, force: true });
  });
}

export async function saveCheckpoint(
  phaseDir: string,
  policy: AnyPolicy,
  optimizer: Optimizer,
  state: TrainingState,
  keepLast: number,
  ema?: Ema,
): Promise<string> {
  const root = checkpointsDir(phaseDir);
  return writingTo(root, async () => {
    await mkdir(root, { recursive: true });
    const final = join(root, stepName(state.step));
    if (existsSync(final)) throw new CheckpointError(final, 'already exists; refusing to overwrite it');
    const tmp = join(root, `.${stepName(state.step)}.${process.pid}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    try {
      await savePolicy(policy, join(tmp, 'policy'), {
        metadata: { phase: state.phase, step: String(state.step) },
      });
      await saveState(join(tmp, OPTIMIZER_FILE), optimizer.stateDict());
      if (ema) await saveState(join(tmp, EMA_FILE), ema.stateDict());
      await writeFile(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
      const files: Record<string, string> = {};
      for (const f of (await listFiles(tmp)).sort()) files[relative(tmp, f)] = await sha256(f);
      await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify({ files }, null, 2)}\n`);
      await rename(tmp, final);
    } catch (err) {
      // Best effort: a failed clean-up must not hide why the save failed.
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    const all = await listCheckpoints(phaseDir);
    for (const old of all.slice(0, Math.max(0, all.length - keepLast)))
      await rm(old.dir, { recursive: true, force: true });
    return final;
  });
}

/** Checks every file of a checkpoint against its manifest; throws a CheckpointError naming the problem. */
export async function verifyCheckpoint(dir: string): Promise<TrainingState> {
  const fix =
    'It was left untouched. Delete this folder to resume from the previous checkpoint, or train again without --resume.';
  let manifest: { files: Record<string, string> };
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (err) {
    throw new CheckpointError(
      dir,
      `manifest.json is missing or unreadable (${(err as Error).message}). ${fix}`,
    );
  }
  if (!manifest || typeof manifest.files !== 'object')
    throw new CheckpointError(dir, `manifest.json has no "files" map. ${fix}`);
  for (const [rel, want] of Object.entries(manifest.files)) {
    let got: string;
    try {
      got = await sha256(join(dir, rel));
    } catch {
      throw new CheckpointError(dir, `${rel} is missing. ${fix}`);
    }
    if (got !== want)
      throw new CheckpointError(
        dir,
        `${rel} is corrupt (sha256 ${got.slice(0, 12)}…, expected ${want.slice(0, 12)}…). ${fix}`,
      );
  }
  for (const need of ['policy/model.safetensors', OPTIMIZER_FILE, 'state.json'])
    if (!(need in manifest.files))
      throw new CheckpointError(dir, `manifest.json does not list ${need}. ${fix}`);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as TrainingState;
  if (!Number.isInteger(state.step) || state.step < 0)
    throw new CheckpointError(dir, `state.json has an invalid step ${JSON.stringify(state.step)}. ${fix}`);
  return state;
}

/** Loads a verified checkpoint's policy (the caller builds the optimizer, then calls `loadOptimizer`). */
export async function loadCheckpointPolicy(
  dir: string,
): Promise<{ policy: AnyPolicy; state: TrainingState }> {
  const state = await verifyCheckpoint(dir);
  const policy = await loadPolicy(join(dir, 'policy'));
  return { policy, state };
}

/** Writes a state dict the caller handed over (its tensors are disposed here). */
async function saveState(path: string, state: Map<string, tf.Tensor>): Promise<void> {
  try {
    await saveSafetensors(path, state, { format: 'pt' });
  } finally {
    tf.dispose([...state.values()]);
  }
}

/** Reads `<dir>/<file>` into `load`; a state that does not fit becomes a CheckpointError naming the file. */
async function loadState(
  dir: string,
  file: string,
  load: (state: Map<string, tf.Tensor>) => void,
): Promise<void> {
  const tensors = toTensors((await loadSafetensors(join(dir, file))).tensors);
  try {
    load(tensors);
  } catch (err) {
    throw new CheckpointError(dir, `${file} does not fit this model: ${(err as Error).message}`);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

export async function loadOptimizer(dir: string, optimizer: Optimizer): Promise<void> {
  await loadState(dir, OPTIMIZER_FILE, (m) => optimizer.loadStateDict(m));
}

/** Restores the weight average a checkpoint holds; a run with `emaDecay` cannot resume from one without it. */
export async function loadEma(dir: string, ema: Ema): Promise<void> {
  if (!existsSync(join(dir, EMA_FILE)))
    throw new CheckpointError(
      dir,
      `has no ${EMA_FILE}: it was written by a run without emaDecay. Resume with the same emaDecay it had (0), or train again without --resume.`,
    );
  await loadState(dir, EMA_FILE, (m) => ema.loadStateDict(m));
}
