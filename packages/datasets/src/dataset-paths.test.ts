import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError } from './errors.js';
import { openDataset } from './reader.js';
import { buildFixtureV3, buildFixtureV21, type FixtureOptions } from './test-utils/fixture.js';
import { tempDir } from './test-utils/synthetic.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A dataset at <tmp>/ds whose data files also exist outside it, at <tmp>/outside/… */
async function datasetBesideCopy(
  build: (root: string, opts: FixtureOptions) => Promise<void>,
  opts: FixtureOptions,
): Promise<string> {
  const { dir, cleanup } = await tempDir('paths-');
  cleanups.push(cleanup);
  const root = join(dir, 'ds');
  await build(root, opts);
  await mkdir(join(dir, 'outside'), { recursive: true });
  await cp(join(root, 'data'), join(dir, 'outside', 'data'), { recursive: true });
  return root;
}

async function openError(root: string): Promise<DatasetError> {
  const err = await openDataset(root).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  return err as DatasetError;
}

describe('dataset path templates stay inside the dataset root', () => {
  it('v3.0 data_path with ../ is refused (the file it points at exists outside)', async () => {
    const root = await datasetBesideCopy(buildFixtureV3, {
      info: (i) => {
        i.data_path = '../outside/data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
      },
    });
    const err = await openError(root);
    expect(err.file).toBe('meta/info.json');
    expect(err.field).toBe('data_path');
    expect(err.message).toContain(
      'resolves to "../outside/data/chunk-000/file-000.parquet", which is outside the dataset root',
    );
  });

  it('v2.1 data_path climbing out through an inner folder, and an absolute path, are refused', async () => {
    for (const template of [
      'data/../../outside/data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
      '/tmp/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
    ]) {
      const root = await datasetBesideCopy(buildFixtureV21, {
        info: (i) => {
          i.data_path = template;
        },
      });
      const err = await openError(root);
      expect([err.file, err.field]).toEqual(['meta/info.json', 'data_path']);
    }
  });

  it('video_path with ../ is refused before any video is looked for', async () => {
    const root = await datasetBesideCopy(buildFixtureV3, {
      videoFeature: true,
      info: (i) => {
        i.video_path = '../../{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4';
      },
    });
    const err = await openError(root);
    expect([err.file, err.field]).toEqual(['meta/info.json', 'video_path']);
  });

  it('a ../ that stays inside the root is fine', async () => {
    const root = await datasetBesideCopy(buildFixtureV3, {
      info: (i) => {
        i.data_path = 'meta/../data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
      },
    });
    const ds = await openDataset(root);
    expect(ds.numFrames).toBe(5);
  });
});
