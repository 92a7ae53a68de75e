/** `train --phase anchor --init DIR`: phase 1 fine-tunes a pretrained policy (e.g. continued on new demos). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

const quiet = { progress: false, log: () => {} };

describe('train --phase anchor --init', () => {
  it('starts from the given policy: its weights and normalization, not fresh ones or the new data', async () => {
    const [a, b] = [await tinyDataset(2), await tinyDataset(3)];
    const first = tinyConfig(a, mkdtempSync(join(tmpdir(), 'anchor-init-a-')), {
      anchor: { steps: 3, batchSize: 8, lr: 3e-3, warmupSteps: 1 },
      validateEvery: 0,
    });
    const r1 = await trainPhase(first, 'anchor', quiet);
    // Phase 1 again on other demos, at a learning rate too small to move any weight visibly.
    const second = tinyConfig(b, mkdtempSync(join(tmpdir(), 'anchor-init-b-')), {
      anchor: { steps: 1, batchSize: 8, lr: 1e-12, warmupSteps: 0, minLr: 0 },
      validateEvery: 0,
    });
    const fresh = { ...second, outDir: mkdtempSync(join(tmpdir(), 'anchor-init-c-')) };
    const r2 = await trainPhase(second, 'anchor', { ...quiet, init: r1.finalDir });
    const r3 = await trainPhase(fresh, 'anchor', quiet);
    const [p1, p2, p3] = await Promise.all([r1, r2, r3].map((r) => loadPolicy(r.finalDir)));
    const maxDiff = (x: typeof p1, y: typeof p1) => {
      const ys = y.stateDict(); // the policies' own variables
      let m = 0;
      for (const [k, v] of x.stateDict()) {
        if (k.startsWith('refiner.')) continue; // phase 1 does not train it; a start from a folder drops it
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(v, ys.get(k) as tf.Tensor))));
        m = Math.max(m, d.dataSync()[0]);
        d.dispose();
      }
      return m;
    };
    expect(maxDiff(p2, p1)).toBeLessThan(1e-6);
    expect(maxDiff(p3, p1)).toBeGreaterThan(1e-4); // a fresh start on b is another model
    expect(p2.normalizationStats).toEqual(p1.normalizationStats); // the model's, not b's
    expect(p3.normalizationStats).not.toEqual(p1.normalizationStats);
    for (const p of [p1, p2, p3]) p.dispose();
  });

  it('refuses a policy that does not fit the configured model, naming the keys', async () => {
    const a = await tinyDataset(2);
    const r1 = await trainPhase(
      tinyConfig(a, mkdtempSync(join(tmpdir(), 'anchor-init-d-')), {
        anchor: { steps: 1, batchSize: 8 },
        validateEvery: 0,
      }),
      'anchor',
      quiet,
    );
    const deeper = tinyConfig(a, mkdtempSync(join(tmpdir(), 'anchor-init-e-')), {
      policy: { preset: 'tiny', overrides: { seed: 1, anchor: { depth: 7 } } },
      anchor: { steps: 1, batchSize: 8 },
      validateEvery: 0,
    });
    await expect(trainPhase(deeper, 'anchor', { ...quiet, init: r1.finalDir })).rejects.toThrow(
      /--phase anchor: the policy at .* does not fit the configured model[\s\S]*missing key/,
    );
    await expect(trainPhase(deeper, 'anchor', { ...quiet, init: join(r1.finalDir, 'nope') })).rejects.toThrow(
      /no policy at --init/,
    );
  });
});
