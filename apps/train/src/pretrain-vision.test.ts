/** `pretrain-vision`: MAE on the dataset's frames → a policy folder that phase 1 starts from. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { pretrainVision } from './pretrain-vision.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

const quiet = { progress: false, log: () => {} };

describe('anchor-refine pretrain-vision', () => {
  it('trains the ViT alone, writes a policy folder, and phase 1 fine-tunes from it', async () => {
    const data = await tinyDataset(2);
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'mae-run-')), {
      anchor: { steps: 1, batchSize: 8, lr: 1e-12, warmupSteps: 0, minLr: 0 },
      validateEvery: 0,
    });
    const out = join(mkdtempSync(join(tmpdir(), 'mae-out-')), 'vision');
    const r = await pretrainVision(cfg, {
      out,
      steps: 30,
      batchSize: 8,
      lr: 3e-3,
      mae: { maskRatio: 0.5, dim: 32 },
      ...quiet,
    });
    expect(r.lastLoss).toBeLessThan(r.firstLoss);
    expect(existsSync(join(out, 'config.json'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'pretrain-vision.json'), 'utf8'));
    expect(summary.steps).toBe(30);
    expect(
      readFileSync(join(out, 'pretrain-metrics.jsonl'), 'utf8').trim().split('\n').length,
    ).toBeGreaterThan(1);
    // Only the ViT trained: the folder's other weights are a fresh policy's (the same seed, the same init).
    const fresh = await trainPhase(
      { ...cfg, outDir: mkdtempSync(join(tmpdir(), 'mae-fresh-')) },
      'anchor',
      quiet,
    );
    const init = await trainPhase(cfg, 'anchor', { ...quiet, init: out });
    const [pre, f, i] = await Promise.all([out, fresh.finalDir, init.finalDir].map((d) => loadPolicy(d)));
    const diff = (x: typeof pre, y: typeof pre, keep: (k: string) => boolean) => {
      const ys = y.stateDict();
      let m = 0;
      for (const [k, v] of x.stateDict()) {
        if (!keep(k)) continue;
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(v, ys.get(k) as tf.Tensor))));
        m = Math.max(m, d.dataSync()[0]);
        d.dispose();
      }
      return m;
    };
    const vision = (k: string) => k.startsWith('backbone.vision.');
    expect(diff(pre, f, vision)).toBeGreaterThan(1e-4); // pretrained ViT ≠ fresh ViT
    expect(diff(pre, f, (k) => !vision(k) && !k.startsWith('refiner.'))).toBeLessThan(1e-6); // the rest is fresh
    expect(diff(i, pre, (k) => !k.startsWith('refiner.'))).toBeLessThan(1e-6); // phase 1 started from it
    for (const p of [pre, f, i]) p.dispose();
    await expect(pretrainVision(cfg, { out, steps: 1, ...quiet })).rejects.toThrow(/already holds a policy/);
  });
});
