/** Test fixtures: a tiny sim dataset (32×32 frames for the `tiny` preset) and a tiny training config. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../collect.js';
import { type TrainConfig, validateTrainConfig } from '../config.js';

export async function tinyDataset(episodesPerTask = 2): Promise<string> {
  const root = join(mkdtempSync(join(tmpdir(), 'train-data-')), 'data');
  await collect({ root, episodesPerTask, imageSize: 32 });
  return root;
}

export function tinyConfig(
  dataset: string,
  outDir: string,
  extra: Record<string, unknown> = {},
): TrainConfig {
  return validateTrainConfig({
    dataset,
    outDir,
    policy: { preset: 'tiny', overrides: { seed: 1 } },
    seed: 0,
    valFraction: 0.25,
    anchor: { steps: 12, batchSize: 8, lr: 3e-3, warmupSteps: 2 },
    refine: { steps: 8, batchSize: 8, lr: 1e-3, warmupSteps: 2 },
    checkpointEvery: 4,
    keepLast: 2,
    logEvery: 1,
    validateEvery: 6,
    valBatches: 1,
    ...extra,
  });
}

export function writeConfig(cfg: TrainConfig): string {
  const path = join(mkdtempSync(join(tmpdir(), 'train-cfg-')), 'config.json');
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}
