/**
 * `emaDecay` in training: the phase's final policy is the weight average (the checkpoint beside it holds
 * the raw weights and the average), a resumed run ends where the uninterrupted one does, a checkpoint
 * without an average cannot silently restart one, and emaDecay 0 writes no average at all.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, toTensors } from '@anchor-refine/nn';
import { loadPolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointsDir } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { readJsonl } from './metrics.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const quiet = { progress: false, log: () => {} };

/** name → values of a saved policy folder. */
async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const p = await loadPolicy(dir);
  try {
    return new Map([...p.stateDict()].map(([k, v]) => [k, v.dataSync() as Float32Array]));
  } finally {
    p.dispose();
  }
}

function maxDiff(a: ReadonlyMap<string, ArrayLike<number>>, b: ReadonlyMap<string, ArrayLike<number>>) {
  let d = 0;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y) continue;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  }
  return d;
}

describe('train with emaDecay', () => {
  let data: string;
  let cfg: (out: string, emaDecay: number) => TrainConfig;
  beforeAll(async () => {
    data = await tinyDataset(2);
    cfg = (out, emaDecay) =>
      tinyConfig(data, out, {
        anchor: { steps: 4, batchSize: 8, lr: 1e-2, warmupSteps: 1 },
        checkpointEvery: 2,
        keepLast: 3,
        validateEvery: 0,
        emaDecay,
      });
  });

  it('final = the average kept in the last checkpoint, not its raw weights; a val line marks it', async () => {
    const before = tf.memory().numTensors;
    const c = cfg(tmp('ema-'), 0.5);
    await trainPhase(c, 'anchor', quiet);
    expect(tf.memory().numTensors).toBe(before);
    const phase = join(c.outDir, 'anchor');
    const last = join(checkpointsDir(phase), 'step-00000004');
    const final = await weights(join(phase, 'final'));
    const raw = await weights(join(last, 'policy'));
    const avgTensors = toTensors((await loadSafetensors(join(last, 'ema.safetensors'))).tensors);
    const avgValues = new Map([...avgTensors].map(([k, t]) => [k, t.dataSync() as Float32Array]));
    tf.dispose([...avgTensors.values()]);
    expect(avgValues.get('ema.updates')?.[0]).toBe(4);
    // every trained parameter is in the average, and the final policy holds exactly it
    let trained = 0;
    for (const [k, v] of final) {
      const a = avgValues.get(k);
      if (!a) continue;
      trained++;
      expect(Array.from(v)).toEqual(Array.from(a));
    }
    expect(trained).toBeGreaterThan(10);
    // four steps at lr 1e-2 moved the raw weights away from the average
    expect(maxDiff(final, raw)).toBeGreaterThan(1e-4);
    const vals = readJsonl(join(phase, 'metrics.jsonl')).filter((l) => l.kind === 'val');
    expect(vals.at(-1)?.ema).toBe(1);
  });

  it('resume from step 2 ends at the uninterrupted run; a checkpoint without an average is refused', async () => {
    const a = cfg(tmp('ema-a-'), 0.5);
    await trainPhase(a, 'anchor', quiet);
    const b = cfg(tmp('ema-b-'), 0.5);
    cpSync(join(a.outDir, 'anchor'), join(b.outDir, 'anchor'), { recursive: true });
    for (const p of ['final', 'summary.json', join('checkpoints', 'step-00000004')])
      rmSync(join(b.outDir, 'anchor', p), { recursive: true, force: true });
    await trainPhase(b, 'anchor', { ...quiet, resume: true });
    const [fa, fb] = [
      await weights(join(a.outDir, 'anchor', 'final')),
      await weights(join(b.outDir, 'anchor', 'final')),
    ];
    expect(maxDiff(fa, fb)).toBeLessThan(1e-6);

    // emaDecay 0 writes no average; resuming that run with emaDecay 0.5 names the missing file
    const off = cfg(tmp('ema-off-'), 0);
    await trainPhase(off, 'anchor', quiet);
    const step2 = join(checkpointsDir(join(off.outDir, 'anchor')), 'step-00000002');
    expect(existsSync(join(step2, 'policy', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(step2, 'ema.safetensors'))).toBe(false);
    for (const p of ['final', 'summary.json', join('checkpoints', 'step-00000004')])
      rmSync(join(off.outDir, 'anchor', p), { recursive: true, force: true });
    await expect(trainPhase({ ...off, emaDecay: 0.5 }, 'anchor', { ...quiet, resume: true })).rejects.toThrow(
      /has no ema\.safetensors/,
    );
  });
});
