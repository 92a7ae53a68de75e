/**
 * Sharded closed-loop evaluation: `--shard i/n` / JOB_COMPLETION_INDEX parsing, and 2 shards (one
 * through the CLI as a Kubernetes Indexed Job pod would run it, one in-process) merged into the same
 * closed-loop.json numbers as one unsharded run (timings aside).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskId } from '@anchor-refine/sim';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalClosedLoop } from './eval-closed-loop.js';
import { evalShard, mergeShards, parseShard, resolveShard } from './eval-shard.js';
import { finish } from './test-utils/cli.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { trainPhase } from './train.js';

/** Drops every wallMs (timings differ between runs). */
const untimed = (x: unknown): unknown =>
  JSON.parse(JSON.stringify(x), (k, v) => (k === 'wallMs' ? undefined : v));

describe('parseShard / resolveShard', () => {
  it('reads i/n, and JOB_COMPLETION_INDEX with JOB_COMPLETIONS when no flag is given', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(resolveShard(undefined, {})).toBeUndefined();
    expect(resolveShard(undefined, { JOB_COMPLETION_INDEX: '3', JOB_COMPLETIONS: '4' })).toEqual({
      index: 3,
      count: 4,
    });
    expect(resolveShard('0/2', { JOB_COMPLETION_INDEX: '3', JOB_COMPLETIONS: '4' })).toEqual({
      index: 0,
      count: 2,
    });
  });
  it('names what is wrong', () => {
    expect(() => parseShard('3/3')).toThrow(/--shard: i must be < n, got 3\/3/);
    expect(() => parseShard('1-4')).toThrow(/--shard: expected i\/n/);
    expect(() => parseShard('0/0')).toThrow(/n must be ≥ 1/);
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '1' })).toThrow(/JOB_COMPLETIONS is not/);
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '4', JOB_COMPLETIONS: '4' })).toThrow(
      /JOB_COMPLETION_INDEX\/JOB_COMPLETIONS: i must be < n/,
    );
  });
});

describe('eval --shard / --merge', () => {
  let checkpoint: string;
  const tasks: TaskId[] = ['push_pen'];
  beforeAll(async () => {
    const data = await tinyDataset(1);
    const cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'shard-train-')), {
      anchor: { steps: 2, batchSize: 8, lr: 1e-3, warmupSteps: 1 },
      validateEvery: 0,
    });
    checkpoint = (await trainPhase(cfg, 'anchor', { progress: false, log: () => {} })).finalDir;
  });

  it('2 merged shards = 1 run (every number, transitions included); a missing shard is named', async () => {
    const o = {
      checkpoint,
      tasks,
      modes: ['anchor', 'refine'] as ('anchor' | 'refine')[],
      episodes: 2,
      workers: 2,
    };
    const single = await evalClosedLoop(o);
    const run = mkdtempSync(join(tmpdir(), 'shard-run-'));
    const parts = join(run, 'eval', 'closed-loop.parts');
    // shard 0 in-process; shard 1 through the CLI as an Indexed Job pod runs it (env, no --shard flag)
    const p0 = await evalShard(o, { index: 0, count: 2 }, parts);
    expect(p0.episodes.anchor?.map((e) => e.seed)).toEqual([1_000_000]); // job 0 of the 2 (task, seed) pairs
    expect(() => mergeShards(parts)).toThrow(/shard 1\/2 missing/);
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const args = ['eval', '--checkpoint', checkpoint, '--tasks', tasks.join(','), '--episodes', '2'].concat([
      '--workers',
      '2',
      '--run',
      run,
    ]);
    const child = spawn(
      process.execPath,
      ['--conditions=@anchor-refine/source', '--import', 'tsx', cli, ...args],
      {
        env: { ...process.env, JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '2' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const r = await finish(child);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/eval --shard 1\/2: 2 episodes/);
    // what `eval --merge --run <run>` writes to <run>/eval/closed-loop.json
    const merged = JSON.parse(JSON.stringify(mergeShards(parts, join(run, 'eval'))));
    expect(
      readFileSync(join(run, 'eval', 'episodes-refine.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
    expect(untimed(merged)).toEqual(untimed(single));
    expect(merged.results.refine.episodes).toHaveLength(2);
    // a part of another evaluation is refused
    const alien = JSON.parse(readFileSync(join(parts, 'part-1-of-2.json'), 'utf8'));
    writeFileSync(join(parts, 'part-1-of-2.json'), JSON.stringify({ ...alien, seedOffset: 5 }));
    expect(() => mergeShards(parts)).toThrow(/another checkpoint, seed range/);
  });
});
