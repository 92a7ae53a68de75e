import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from './reader.js';
import { syntheticAction, syntheticImage, tempDir, writeSynthetic } from './test-utils/synthetic.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe.each(['v3.0', 'v2.1'] as const)('writer → reader round trip (%s, images in parquet)', (version) => {
  it('reads back every value, image, task and episode', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const lens = [5, 3, 4];
    await writeSynthetic(dir, { episodes: lens, version, size: 8 });
    const ds = await openDataset(dir);
    expect(ds.info.codebase_version).toBe(version);
    expect(ds.numFrames).toBe(12);
    expect(ds.episodes.map((e) => [e.from, e.to])).toEqual([
      [0, 5],
      [5, 8],
      [8, 12],
    ]);
    expect(ds.tasks).toEqual(['pick the cube', 'open the drawer']);
    expect(ds.episodes.map((e) => e.tasks)).toEqual([
      ['pick the cube'],
      ['open the drawer'],
      ['pick the cube'],
    ]);
    for (let ep = 0; ep < lens.length; ep++) {
      for (let f = 0; f < lens[ep]; f++) {
        const g = ds.episodes[ep].from + f;
        const fr = await ds.getFrame(g);
        expect(Array.from(fr.action as Float32Array)).toEqual(
          Array.from(syntheticAction(ep, f, lens[ep], 4)),
        );
        expect(fr.frame_index).toBe(f);
        expect(fr.episode_index).toBe(ep);
        expect(fr.index).toBe(g);
        expect(fr.timestamp).toBeCloseTo(f / 10, 6);
        expect(fr.task).toBe(ep === 1 ? 'open the drawer' : 'pick the cube');
        const img = fr['observation.images.wrist'] as { data: Uint8Array; height: number; width: number };
        expect(img.height).toBe(8);
        expect(Buffer.from(img.data).equals(Buffer.from(syntheticImage(8, 8, ep, f, 1)))).toBe(true);
      }
    }
    // stats: action channel 0 over all frames = ep*100 + f; hand-computed mean
    const vals = lens.flatMap((l, ep) => Array.from({ length: l }, (_, f) => ep * 100 + f));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    expect(ds.stats.action.mean[0]).toBeCloseTo(mean, 4);
    expect(ds.stats.action.min[0]).toBe(0);
    expect(ds.stats.action.max[0]).toBe(203);
    expect(ds.stats.action.count).toBe(12);
    expect(ds.stats['observation.images.front'].mean).toHaveLength(3);
  });
});

describe('files written by DatasetWriter, read by an independent parquet reader (arrow-rs)', () => {
  it('data, tasks and episodes parquet have the LeRobot column types', async () => {
    const arrow = await import('apache-arrow');
    const pw = await import('parquet-wasm');
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    await writeSynthetic(dir, { episodes: [3, 2], size: 8 });
    const read = async (rel: string) =>
      arrow.tableFromIPC(pw.readParquet(new Uint8Array(await readFile(join(dir, rel)))).intoIPCStream());
    const data = await read('data/chunk-000/file-000.parquet');
    const types = Object.fromEntries(data.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types.action).toBe('List<Float32>');
    expect(types['observation.images.front']).toBe('Struct<{bytes:Binary, path:Utf8}>');
    expect(types.index).toBe('Int64');
    expect(types.timestamp).toBe('Float32');
    expect(data.numRows).toBe(5);
    expect(data.getChild('index')?.toArray()).toEqual(new BigInt64Array([0n, 1n, 2n, 3n, 4n]));
    const hf = JSON.parse(data.schema.metadata.get('huggingface') ?? '{}');
    expect(hf.info.features.action).toEqual({
      feature: { dtype: 'float32', _type: 'Value' },
      length: 4,
      _type: 'Sequence',
    });
    expect(hf.info.features['observation.images.front']).toEqual({ _type: 'Image' });
    const tasks = await read('meta/tasks.parquet');
    expect(tasks.getChild('task')?.toArray()).toEqual(['pick the cube', 'open the drawer']);
    expect(JSON.parse(tasks.schema.metadata.get('pandas') ?? '{}').index_columns).toEqual(['task']);
    const eps = await read('meta/episodes/chunk-000/file-000.parquet');
    expect(eps.getChild('dataset_to_index')?.toArray()).toEqual(new BigInt64Array([3n, 5n]));
    expect(eps.getChild('tasks')?.get(1)?.toArray()).toEqual(['open the drawer']);
    expect(eps.schema.fields.map((f) => f.name)).toContain('stats/action/q99');
  });
});
