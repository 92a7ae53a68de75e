import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DatasetError } from './errors.js';
import { openDataset } from './reader.js';
import { Sampler } from './sampler.js';
import type { SamplerConfig } from './sampler-config.js';
import { buildFixtureV3, buildFixtureV21, type FixtureOptions } from './test-utils/fixture.js';
import { tempDir } from './test-utils/synthetic.js';
import { ffmpegAvailable } from './video.js';
import { DatasetWriter } from './writer.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function v3(opts: FixtureOptions = {}): Promise<string> {
  const { dir, cleanup } = await tempDir('invalid-');
  cleanups.push(cleanup);
  await buildFixtureV3(dir, opts);
  return dir;
}

/** Asserts that opening fails with a DatasetError naming exactly this file and field. */
async function expectDatasetError(root: string, file: string, field: string | RegExp, message?: RegExp) {
  const err = await openDataset(root).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  const de = err as DatasetError;
  expect(de.file).toBe(file);
  if (typeof field === 'string') expect(de.field).toBe(field);
  else expect(de.field).toMatch(field);
  if (message) expect(de.message).toMatch(message);
}

describe('malformed datasets fail with the file and the field', () => {
  it('missing info.json fields', async () => {
    await expectDatasetError(await v3({ info: (i) => delete i.fps }), 'meta/info.json', 'fps', /missing/);
    await expectDatasetError(
      await v3({ info: (i) => delete i.total_frames }),
      'meta/info.json',
      'total_frames',
    );
    await expectDatasetError(
      await v3({ info: (i) => delete i.codebase_version }),
      'meta/info.json',
      'codebase_version',
    );
    await expectDatasetError(
      await v3({ info: (i) => delete (i.features as Record<string, { shape?: unknown }>).action.shape }),
      'meta/info.json',
      'features.action.shape',
    );
    await expectDatasetError(
      await v3({ info: (i) => delete (i.features as Record<string, unknown>).frame_index }),
      'meta/info.json',
      'features.frame_index',
    );
    await expectDatasetError(
      await v3({ info: (i) => ((i.features as Record<string, { dtype: string }>).action.dtype = 'float16') }),
      'meta/info.json',
      'features.action.dtype',
    );
  });

  it('info.json that is not JSON', async () => {
    const root = await v3();
    await writeFile(join(root, 'meta/info.json'), '{"codebase_version": "v3.0",');
    await expectDatasetError(root, 'meta/info.json', '(json)');
  });

  it('counts that disagree with the episodes', async () => {
    await expectDatasetError(
      await v3({ info: (i) => (i.total_frames = 6) }),
      'meta/info.json',
      'total_frames',
      /hold 5/,
    );
    await expectDatasetError(
      await v3({ info: (i) => (i.total_episodes = 3) }),
      'meta/info.json',
      'total_episodes',
    );
  });

  it('shape mismatch between info.json and the parquet rows', async () => {
    await expectDatasetError(
      await v3({ actionWidth: 4 }),
      'data/chunk-000/file-000.parquet',
      'action',
      /row 0: has 4 values but features.action.shape is \[3\]/,
    );
  });

  it('image whose size differs from its feature shape', async () => {
    const root = await v3({
      info: (i) =>
        ((i.features as Record<string, { shape: number[] }>)['observation.images.cam'].shape = [5, 5, 3]),
    });
    const ds = await openDataset(root);
    await expect(ds.image('observation.images.cam', 0)).rejects.toThrow(
      /data\/chunk-000\/file-000.parquet: observation.images.cam: row 0 \(episode 0, frame 0\): image is 4x4/,
    );
  });

  it('truncated parquet', async () => {
    const root = await v3();
    const p = join(root, 'data/chunk-000/file-000.parquet');
    const size = (await readFile(p)).length;
    await truncate(p, Math.floor(size / 2));
    await expectDatasetError(root, 'data/chunk-000/file-000.parquet', '(parquet footer)', /truncated/);
  });

  it('missing data, tasks and episode files', async () => {
    let root = await v3();
    await rm(join(root, 'data/chunk-000/file-000.parquet'));
    await expectDatasetError(root, 'data/chunk-000/file-000.parquet', '(file)');
    root = await v3();
    await rm(join(root, 'meta/tasks.parquet'));
    await expectDatasetError(root, 'meta/tasks.parquet', '(file)');
    root = await v3();
    await rm(join(root, 'meta/info.json'));
    await expectDatasetError(root, 'meta/info.json', '(file)', /ENOENT/);
  });

  it.runIf(ffmpegAvailable())('missing video file', async () => {
    await expectDatasetError(
      await v3({ videoFeature: true }),
      'videos/observation.images.vid/chunk-000/file-000.mp4',
      'videos/observation.images.vid',
      /missing/,
    );
  });

  it('timestamps off the fps grid', async () => {
    await expectDatasetError(
      await v3({ timestamp: [1, 0.15] }),
      'data/chunk-000/file-000.parquet',
      'timestamp',
      /row 1 \(episode 0, frame 1\): 0.15\d* s is off the 1\/fps grid/,
    );
    // on the grid but skipping a frame
    await expectDatasetError(
      await v3({ timestamp: [4, 0.2] }),
      'data/chunk-000/file-000.parquet',
      'timestamp',
    );
  });

  it('v2.1: malformed jsonl line and missing episode parquet', async () => {
    const { dir, cleanup } = await tempDir('invalid-');
    cleanups.push(cleanup);
    await buildFixtureV21(dir);
    await writeFile(
      join(dir, 'meta/episodes.jsonl'),
      '{"episode_index": 0, "tasks": ["a"], "length": 3}\n{"episode_index": 1,',
    );
    await expectDatasetError(dir, 'meta/episodes.jsonl', 'line 2');
    await buildFixtureV21(dir);
    await rm(join(dir, 'data/chunk-000/episode_000001.parquet'));
    await expectDatasetError(dir, 'data/chunk-000/episode_000001.parquet', '(file)');
  });
});

describe('bad configuration fails with the option name and a fix', () => {
  const cfg: SamplerConfig = {
    history: 2,
    horizon: 4,
    cameras: { 'observation.images.cam': 'front' },
    gripper: { actionIndex: 2, convention: 'closed-positive' },
    // the fixture's stats.json has no observation.state entry
    normalization: { default: 'mean_std', overrides: { 'observation.state': 'identity' } },
    split: { valEpisodes: [1] },
    seed: 0,
    batchSize: 2,
  };
  let ds0: Awaited<ReturnType<typeof openDataset>>;
  beforeAll(async () => {
    ds0 = await openDataset(await v3());
  });
  it.each([
    [{ history: 0 }, 'history'],
    [{ horizon: 1.5 }, 'horizon'],
    [{ cameras: { 'observation.images.nope': 'front' } }, 'cameras.observation.images.nope'],
    [{ stateKey: 'observation.nope' }, 'stateKey'],
    [{ gripper: { actionIndex: 3, convention: 'closed-positive' } }, 'gripper.actionIndex'],
    [{ gripper: { actionIndex: 2, convention: 'sideways' } }, 'gripper.convention'],
    [{ normalization: { default: 'zscore' } }, 'normalization.default'],
    [{ normalization: { default: 'mean_std' } }, 'normalization.observation.state'],
    [
      { normalization: { default: 'mean_std', overrides: { nope: 'identity' } } },
      'normalization.overrides.nope',
    ],
    [{ split: { valFraction: 1 } }, 'split.valFraction'],
    [{ split: { valEpisodes: [0, 1] } }, 'split.valEpisodes'],
    [{ split: {} }, 'split'],
    [{ imageSize: [0, 4] }, 'imageSize'],
  ])('%j → %s', async (patch, field) => {
    expect(() => new Sampler(ds0, cfg)).not.toThrow(); // the base config is valid
    const ds = ds0;
    let err: unknown;
    try {
      new Sampler(ds, { ...cfg, ...(patch as Partial<SamplerConfig>) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
  });

  it('writer: undeclared feature, wrong image size, filled-in default, unsaved frames', async () => {
    const { dir, cleanup } = await tempDir('writer-');
    cleanups.push(cleanup);
    const w = await DatasetWriter.create(dir, {
      fps: 10,
      features: {
        action: { dtype: 'float32', shape: [2] },
        'observation.images.cam': { dtype: 'image', shape: [4, 4, 3] },
      },
    });
    const img = new Uint8Array(48);
    expect(() => w.addFrame({ action: [1, 2], 'observation.images.cam': img, extra: 1 }, 't')).toThrow(
      /frame.extra/,
    );
    expect(() => w.addFrame({ action: [1, 2], 'observation.images.cam': new Uint8Array(47) }, 't')).toThrow(
      /frame.observation.images.cam: must be a Uint8Array of 48 bytes/,
    );
    expect(() => w.addFrame({ action: [1, 2, 3], 'observation.images.cam': img }, 't')).toThrow(
      /frame.action/,
    );
    expect(() => w.addFrame({ action: [1, 2], 'observation.images.cam': img, timestamp: 0 }, 't')).toThrow(
      /frame.timestamp: is filled by the writer/,
    );
    expect(w.episodeBufferSize).toBe(0); // rejected frames leave nothing behind
    w.addFrame({ action: [1, 2], 'observation.images.cam': img }, 't');
    await expect(w.finalize()).rejects.toThrow(/1 frames are not saved/);
    await expect(
      DatasetWriter.create(join(dir, 'x'), { fps: 10, features: { index: { dtype: 'int64', shape: [1] } } }),
    ).rejects.toThrow(/features.index: is filled by the writer/);
    await expect(DatasetWriter.create(join(dir, 'y'), { fps: 0, features: {} })).rejects.toThrow(/^fps/);
  });
});
