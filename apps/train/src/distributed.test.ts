/**
 * Data-parallel training (issue 16) on localhost through the real CLI:
 * - exactness: `train --nproc 2` with global batch 8 (4 per rank) ends with the weights of one process
 *   with batch 8, within float32 all-reduce tolerance (a single process with batch 4 does not);
 * - `--resume` with another world size: rank-0 checkpoints of the 2-rank run resumed by 1 process end
 *   at the same weights;
 * - faults: SIGKILL of rank 1 (launched by an outside launcher via the env contract) stops rank 0 with
 *   an error naming rank 1, and every checkpoint left is complete (verifies) with no partial one.
 * Skipped when the distributed addon has no gloo.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributedAddon } from '@anchor-refine/distributed';
import { loadPolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointsDir, listCheckpoints, verifyCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { readJsonl } from './metrics.js';
import { finish, startTrain } from './test-utils/cli.js';
import { tinyConfig, tinyDataset, writeConfig } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

const gloo = distributedAddon()?.features().gloo ?? false;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** Largest |a − b| over every tensor of two saved policies, and the largest |a|. */
async function weightDiff(a: string, b: string): Promise<{ diff: number; scale: number }> {
  const [pa, pb] = [await loadPolicy(a), await loadPolicy(b)];
  let diff = 0;
  let scale = 0;
  try {
    const sb = pb.stateDict();
    for (const [k, v] of pa.stateDict()) {
      const x = v.dataSync();
      const y = sb.get(k)?.dataSync();
      if (!y || y.length !== x.length) throw new Error(`weightDiff: ${k} missing or reshaped`);
      for (let i = 0; i < x.length; i++) {
        diff = Math.max(diff, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(x[i]));
      }
    }
  } finally {
    pa.dispose();
    pb.dispose();
  }
  return { diff, scale };
}

const quiet = { progress: false, log: () => {} };

describe.skipIf(!gloo)('data-parallel training on gloo (2 ranks, localhost)', () => {
  let data: string;
  let cfg: (out: string, batch?: number, steps?: number) => TrainConfig;
  beforeAll(async () => {
    data = await tinyDataset(2);
    cfg = (out, batch = 8, steps = 4) =>
      tinyConfig(data, out, {
        anchor: { steps, batchSize: batch, lr: 1e-3, warmupSteps: 1 },
        checkpointEvery: 2,
        keepLast: 3,
        validateEvery: 0,
      });
  });

  it('2 ranks × batch 4 = 1 rank × batch 8 (weights and logged loss); resume of its checkpoint by 1 rank too', async () => {
    const one = cfg(tmp('dp-one-'));
    const tfBefore = tf.memory().numTensors;
    await trainPhase(one, 'anchor', quiet);
    expect(tf.memory().numTensors).toBe(tfBefore);

    const two = cfg(tmp('dp-two-'));
    const run = await finish(startTrain(writeConfig(two), ['--nproc', '2']));
    expect(run.code, run.out).toBe(0);
    const d = await weightDiff(join(one.outDir, 'anchor', 'final'), join(two.outDir, 'anchor', 'final'));
    // float32 sums in another order, through 4 AdamW steps: a few ulps of the largest weight.
    expect(d.diff).toBeLessThan(1e-5 * Math.max(1, d.scale));

    // Only rank 0 wrote metrics: one line per step, and its loss is the global batch's loss.
    const lines = (c: TrainConfig) =>
      readJsonl(join(c.outDir, 'anchor', 'metrics.jsonl')).filter((l) => l.kind === 'train');
    const [la, lb] = [lines(one), lines(two)];
    expect(lb.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    for (const [i, l] of lb.entries()) expect(l.loss as number).toBeCloseTo(la[i].loss as number, 5);
    expect(lb[0].comm_mb as number).toBeGreaterThan(0);

    // Negative control: half the batch in one process ends far away.
    const half = cfg(tmp('dp-half-'), 4);
    await trainPhase(half, 'anchor', quiet);
    const h = await weightDiff(join(one.outDir, 'anchor', 'final'), join(half.outDir, 'anchor', 'final'));
    expect(h.diff).toBeGreaterThan(100 * d.diff + 1e-5);

    // Resume the 2-rank run's step-2 checkpoint in one process (as if it had died after step 2).
    const again = cfg(tmp('dp-resume-'));
    cpSync(join(two.outDir, 'anchor'), join(again.outDir, 'anchor'), { recursive: true });
    for (const p of ['final', 'summary.json', join('checkpoints', 'step-00000004')])
      rmSync(join(again.outDir, 'anchor', p), { recursive: true, force: true });
    expect((await listCheckpoints(join(again.outDir, 'anchor'))).map((c) => c.step)).toEqual([2]);
    await trainPhase(again, 'anchor', { ...quiet, resume: true });
    const r = await weightDiff(join(one.outDir, 'anchor', 'final'), join(again.outDir, 'anchor', 'final'));
    expect(r.diff).toBeLessThan(1e-5 * Math.max(1, r.scale));
  });

  it('phase 2 on another dataset than phase 1, 2 ranks: every rank keeps the phase-1 normalization', async () => {
    const first = cfg(tmp('dp-p1-'));
    await trainPhase(first, 'anchor', quiet);
    const other = await tinyDataset(3); // different frames, so different dataset statistics
    const second = {
      ...cfg(tmp('dp-p2-')),
      dataset: other,
      refine: { ...first.refine, steps: 2, batchSize: 8 },
    };
    const init = join(first.outDir, 'anchor', 'final');
    const run = await finish(startTrain(writeConfig(second), ['--nproc', '2', '--init', init], 'refine'));
    expect(run.code, run.out).toBe(0);
    const [a, b] = [await loadPolicy(init), await loadPolicy(join(second.outDir, 'refine', 'final'))];
    expect(b.normalizationStats).toEqual(a.normalizationStats);
    a.dispose();
    b.dispose();
  });

  it('SIGKILL of rank 1: rank 0 stops with an error naming rank 1 and leaves only complete checkpoints', async () => {
    const c = cfg(tmp('dp-kill-'), 8, 400);
    const config = writeConfig(c);
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const repo = fileURLToPath(new URL('../../..', import.meta.url));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const ranks = [0, 1].map((rank) =>
      spawn(
        process.execPath,
        ['--conditions=@anchor-refine/source', '--import', 'tsx', cli, 'train', '--config', config].concat([
          '--phase',
          'anchor',
          '--no-progress',
          '--dist-timeout',
          '20',
        ]),
        {
          cwd: repo,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            RANK: String(rank),
            WORLD_SIZE: '2',
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
          },
        },
      ),
    );
    const done = ranks.map((p) => finish(p));
    const phase = join(c.outDir, 'anchor');
    for (;;) {
      if ((await listCheckpoints(phase)).some((k) => k.step >= 4)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    ranks[1].kill('SIGKILL');
    const killedAt = Date.now();
    const r0 = await done[0];
    const stopMs = Date.now() - killedAt;
    expect(r0.code, r0.out).not.toBe(0);
    expect(r0.out).toMatch(/rank 1 (exited|stopped responding)/);
    expect(stopMs).toBeLessThan(20_000); // well within --dist-timeout 20 s
    expect((await done[1]).signal).toBe('SIGKILL');
    // Every checkpoint verifies; no temp folder, no final policy.
    const left = await listCheckpoints(phase);
    expect(left.length).toBeGreaterThan(0);
    for (const k of left) await verifyCheckpoint(k.dir);
    expect(readdirSync(checkpointsDir(phase)).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(existsSync(join(phase, 'final'))).toBe(false);
  });
});
