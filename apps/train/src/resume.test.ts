/**
 * Robustness through the real CLI: a training process killed with SIGKILL mid-run and restarted with
 * `--resume` continues from its newest checkpoint and reproduces, step for step, the loss sequence of an
 * uninterrupted run with the same seed; a corrupt checkpoint is refused with a clear error and left
 * byte-identical (no checkpoint is written over it).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { readJsonl } from './metrics.js';
import { readRun } from './tensorboard.js';
import { finish, startTrain } from './test-utils/cli.js';
import { tinyConfig, tinyDataset, writeConfig } from './test-utils/fixture.js';

const losses = (cfg: TrainConfig) =>
  readJsonl(join(cfg.outDir, 'anchor', 'metrics.jsonl'))
    .filter((l) => l.kind === 'train')
    .map((l) => [l.step, l.loss]);

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('kill -9, --resume, corrupt checkpoints (CLI)', () => {
  let data: string;
  beforeAll(async () => {
    data = await tinyDataset(2);
  });

  it('resumes after SIGKILL and reproduces the uninterrupted loss sequence', async () => {
    const extra = {
      anchor: { steps: 24, batchSize: 8, lr: 3e-3, warmupSteps: 2 },
      checkpointEvery: 4,
      keepLast: 2,
      validateEvery: 0,
    };
    const full = tinyConfig(data, mkdtempSync(join(tmpdir(), 'train-full-')), extra);
    const a = await finish(startTrain(writeConfig(full)));
    expect(a.code, a.out).toBe(0);

    const cut = tinyConfig(data, mkdtempSync(join(tmpdir(), 'train-cut-')), extra);
    const cfgPath = writeConfig(cut);
    const child = startTrain(cfgPath);
    const done = finish(child);
    // Kill once a mid-run checkpoint exists (and before the run ends).
    for (;;) {
      const ck = await listCheckpoints(join(cut.outDir, 'anchor'));
      if (ck.some((c) => c.step >= 8)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const before = await listCheckpoints(join(cut.outDir, 'anchor'));
    expect(before.at(-1)?.step).toBeLessThan(24);
    expect(existsSync(join(cut.outDir, 'anchor', 'final'))).toBe(false);

    const b = await finish(startTrain(cfgPath, ['--resume']));
    expect(b.code, b.out).toBe(0);
    expect(b.out).toMatch(new RegExp(`resuming from .*step-0*${before.at(-1)?.step}`));
    const want = losses(full);
    expect(want).toHaveLength(24);
    expect(losses(cut)).toEqual(want);
    // TensorBoard's view of both runs' files: every step once (the restart marker drops the killed
    // run's steps after its checkpoint).
    const tb = readRun(join(cut.outDir, 'anchor', 'tensorboard')).filter(
      (e) => e.tag === 'anchor/train/loss',
    );
    expect(tb.map((e) => e.step)).toEqual(want.map(([s]) => s));
  });

  it('refuses a corrupt checkpoint with a clear error and never overwrites it', async () => {
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'train-corrupt-')), {
      anchor: { steps: 8, batchSize: 8 },
      checkpointEvery: 4,
    });
    const cfgPath = writeConfig(cfg);
    const first = await finish(startTrain(cfgPath, ['--steps', '4']));
    expect(first.code, first.out).toBe(0);
    const [ck] = await listCheckpoints(join(cfg.outDir, 'anchor'));
    const model = join(ck.dir, 'policy', 'model.safetensors');
    const bytes = readFileSync(model);
    bytes[bytes.length - 10] ^= 0x5a;
    writeFileSync(model, bytes);
    const hash = sha(model);
    const r = await finish(startTrain(cfgPath, ['--resume']));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /checkpoint .*step-00000004: policy\/model\.safetensors is corrupt .*Delete this folder/s,
    );
    expect(sha(model)).toBe(hash);
    expect((await listCheckpoints(join(cfg.outDir, 'anchor'))).map((c) => c.step)).toEqual([4]);
    // Without --resume the existing checkpoints are not overwritten either.
    const fresh = await finish(startTrain(cfgPath));
    expect(fresh.code).toBe(1);
    expect(fresh.out).toMatch(/already has checkpoints .* pass --resume/);
    expect(sha(model)).toBe(hash);
  });
});
