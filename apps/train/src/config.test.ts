import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PHASE, loadTrainConfig, validateTrainConfig } from './config.js';

describe('train config', () => {
  it('fills defaults and keeps given fields', () => {
    const c = validateTrainConfig({ dataset: 'd', outDir: 'o', anchor: { steps: 7 } });
    expect(c.anchor.steps).toBe(7);
    expect(c.anchor.lr).toBe(DEFAULT_PHASE.anchor.lr);
    expect(c.refine).toEqual(DEFAULT_PHASE.refine);
    expect(c.policy.preset).toBe('small');
    expect(c.policy.backbone).toBe('gr1');
    expect(c.oversampleStart).toBeUndefined();
    const o = validateTrainConfig({ dataset: 'd', outDir: 'o', oversampleStart: { frames: 8, factor: 3 } });
    expect(o.oversampleStart).toEqual({ frames: 8, factor: 3 });
    const w = validateTrainConfig({
      dataset: 'd',
      outDir: 'o',
      oversampleSwitches: { before: 4, after: 0, factor: 2 },
    });
    expect(w.oversampleSwitches).toEqual({ before: 4, after: 0, factor: 2 });
    expect(c.refine.balanceTasks).toBeUndefined();
    const b = validateTrainConfig({ dataset: 'd', outDir: 'o', refine: { balanceTasks: true } });
    expect(b.refine).toEqual({ ...DEFAULT_PHASE.refine, balanceTasks: true });
    expect(b.anchor.balanceTasks).toBeUndefined();
    expect(c.emaDecay).toBe(0);
    expect(c.refineDataset).toBeUndefined();
    expect(validateTrainConfig({ dataset: 'd', outDir: 'o', refineDataset: 'r' }).refineDataset).toBe('r');
    expect(validateTrainConfig({ dataset: 'd', outDir: 'o', emaDecay: 0.999 }).emaDecay).toBe(0.999);
  });

  it.each([
    [{ outDir: 'o' }, /dataset is undefined; give a folder path/],
    [{ dataset: 'd', outDir: 'o', anchor: { lr: 5 } }, /anchor\.lr is 5; use a learning rate in \(0, 1\)/],
    [{ dataset: 'd', outDir: 'o', refine: { batchSize: 0 } }, /refine\.batchSize is 0; use an integer ≥ 1/],
    [
      { dataset: 'd', outDir: 'o', policy: { preset: 'huge' } },
      /policy\.preset is "huge"; use 'tiny', 'small' or 'paper'/,
    ],
    [
      { dataset: 'd', outDir: 'o', policy: { backbone: 'gr2' } },
      /policy\.backbone is "gr2"; use 'gr1' \(regression\) or 'xvla' \(flow \/ denoise\)/,
    ],
    [
      { dataset: 'd', outDir: 'o', policy: { backbone: 'xvla', preset: 'paper' } },
      /policy\.preset is 'paper' with backbone 'xvla'.*use 'tiny' or 'small'/,
    ],
    [
      { dataset: 'd', outDir: 'o', checkpointEvry: 3 },
      /checkpointEvry is not a config field; known fields: .*checkpointEvery/,
    ],
    [
      { dataset: 'd', outDir: 'o', anchor: { lr: 0.001, minLr: 0.01 } },
      /anchor\.minLr is 0\.01; use a number in \[0, lr=0\.001\]/,
    ],
    [
      { dataset: 'd', outDir: 'o', oversampleStart: { frames: 8, factor: 0 } },
      /oversampleStart\.factor is 0; use an integer ≥ 1/,
    ],
    [
      { dataset: 'd', outDir: 'o', oversampleStart: { factor: 2 } },
      /oversampleStart\.frames is missing; give both frames and factor/,
    ],
    [
      { dataset: 'd', outDir: 'o', oversampleStart: { frames: 8, factor: 2, tail: 1 } },
      /oversampleStart\.tail is not a config field/,
    ],
    [
      { dataset: 'd', outDir: 'o', oversampleSwitches: { before: 4, after: -1, factor: 2 } },
      /oversampleSwitches\.after is -1; use an integer ≥ 0/,
    ],
    [
      { dataset: 'd', outDir: 'o', anchor: { balanceTasks: 1 } },
      /anchor\.balanceTasks is 1; use true or false/,
    ],
    [{ dataset: 'd', outDir: 'o', refineDataset: '' }, /refineDataset is ""; give a dataset folder path/],
    [{ dataset: 'd', outDir: 'o', emaDecay: 1 }, /emaDecay is 1; use a decay in \[0, 1\)/],
  ])('rejects %j with a message that says how to fix it', (input, msg) => {
    expect(() => validateTrainConfig(input)).toThrow(msg);
  });

  it('reads JSON files and reports broken ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-cfg-'));
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ dataset: 'd', outDir: 'o', seed: 3 }));
    expect(loadTrainConfig(join(dir, 'ok.json'), { outDir: 'x' })).toMatchObject({ seed: 3, outDir: 'x' });
    writeFileSync(join(dir, 'bad.json'), '{"dataset": ');
    expect(() => loadTrainConfig(join(dir, 'bad.json'))).toThrow(/bad\.json could not be read as JSON/);
  });
});
