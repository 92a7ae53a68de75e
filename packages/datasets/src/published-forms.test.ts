/**
 * Forms that published LeRobot datasets use and LeRobot itself accepts: `names` that do not list one name
 * per channel (`[[…]]` nested one level, `["state"]` for a vector, an object of lists), and a v3.0
 * `meta/tasks.parquet` whose task strings are pandas' unnamed index `__index_level_0__`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from './reader.js';
import { buildFixtureV3, buildFixtureV21, parquetBytes, TASKS } from './test-utils/fixture.js';
import { tempDir } from './test-utils/synthetic.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function dir(): Promise<string> {
  const { dir, cleanup } = await tempDir('published-');
  cleanups.push(cleanup);
  return dir;
}

type Features = Record<string, { names?: unknown }>;

describe('published LeRobot datasets', () => {
  it('v2.1 names nested one level ([[…]]), a single label (["state"]) or an object are accepted', async () => {
    const root = await dir();
    await buildFixtureV21(root, {
      info: (i) => {
        const f = i.features as Features;
        f['observation.state'].names = [['x', 'y']]; // one list of 2 names for shape [2]
        f.action.names = ['actions']; // openpi's LIBERO converter: one label for a vector
      },
    });
    const ds = await openDataset(root);
    expect(ds.numFrames).toBe(5);
    expect(ds.info.features['observation.state'].names).toEqual([['x', 'y']]);
    const frame = await ds.getFrame(1);
    expect(Array.from(frame['observation.state'] as Float32Array)).toEqual([1, -1]);

    const other = await dir();
    await buildFixtureV21(other, {
      info: (i) => {
        (i.features as Features).action.names = { motors: ['a0', 'a1', 'gripper'] };
      },
    });
    expect((await openDataset(other)).numFrames).toBe(5);
  });

  it.each([
    ['utf8', new arrow.Utf8()],
    ['large_string', new arrow.LargeUtf8()],
  ])('v3.0 tasks.parquet with the task strings as pandas index __index_level_0__ (%s)', async (_, type) => {
    const root = await dir();
    await buildFixtureV3(root);
    // pandas `df.to_parquet()` of a frame indexed by the task strings (unnamed index), as published.
    const table = new arrow.Table({
      task_index: arrow.vectorFromArray([0n, 1n], new arrow.Int64()),
      __index_level_0__: arrow.vectorFromArray(TASKS, type),
    });
    table.schema.metadata.set(
      'pandas',
      JSON.stringify({
        index_columns: ['__index_level_0__'],
        column_indexes: [],
        columns: [
          {
            name: 'task_index',
            field_name: 'task_index',
            pandas_type: 'int64',
            numpy_type: 'int64',
            metadata: null,
          },
          {
            name: null,
            field_name: '__index_level_0__',
            pandas_type: 'unicode',
            numpy_type: 'object',
            metadata: null,
          },
        ],
      }),
    );
    await writeFile(join(root, 'meta/tasks.parquet'), parquetBytes(table));
    const ds = await openDataset(root);
    expect(ds.tasks).toEqual(TASKS);
    expect((await ds.getFrame(3)).task).toBe(TASKS[1]);
  });
});
