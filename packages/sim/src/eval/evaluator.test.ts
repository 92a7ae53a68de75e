import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EpisodeMonitor } from '../env/monitor.js';
import { TASK_IDS } from '../env/types.js';
import { getTask } from '../tasks/registry.js';
import { evaluate } from './evaluator.js';
import { classifyFailure } from './failure.js';
import type { JsonValue } from './policy.js';
import { wilsonInterval } from './stats.js';

const fixture = fileURLToPath(new URL('./test-fixtures/custom-policy.ts', import.meta.url));

describe('wilsonInterval', () => {
  it('matches known values', () => {
    const [lo, hi] = wilsonInterval(8, 10);
    expect(lo).toBeCloseTo(0.4902, 3);
    expect(hi).toBeCloseTo(0.9433, 3);
    expect(wilsonInterval(0, 20)[0]).toBe(0);
    expect(wilsonInterval(0, 20)[1]).toBeCloseTo(0.1611, 3);
    expect(() => wilsonInterval(3, 2)).toThrow(/successes/);
  });
});

describe('classifyFailure', () => {
  const base = { ...EpisodeMonitor.empty(), hasGraspTarget: true, steps: 80 };
  it('separates gripper and arm failures', () => {
    expect(classifyFailure({ ...base, success: true })).toBeNull();
    expect(classifyFailure({ ...base, firstCloseStep: 5, closeDistance: 0.05 })).toBe('closed_too_early');
    expect(
      classifyFailure({ ...base, firstCloseStep: 9, closeDistance: 0.04, arrivedBeforeClose: true }),
    ).toBe('closed_too_late');
    expect(classifyFailure({ ...base, firstCloseStep: 9, closeDistance: 0.005 })).toBe('missed_grasp');
    expect(
      classifyFailure({ ...base, firstCloseStep: 9, closeDistance: 0.005, everGrasped: true, dropped: true }),
    ).toBe('dropped');
    expect(classifyFailure({ ...base, firstCloseStep: 9, closeDistance: 0.005, everGrasped: true })).toBe(
      'misplaced',
    );
    expect(classifyFailure(base)).toBe('timeout');
    expect(classifyFailure({ ...base, hasGraspTarget: false, objectDisplacement: 0.05 })).toBe('misplaced');
  });
});

describe('evaluate (worker threads)', () => {
  it('runs an async expert-backed policy module by absolute path; logs and frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-eval-'));
    try {
      const report = await evaluate({
        policy: { module: fixture, exportName: 'makePolicy', options: {} },
        tasks: ['pick_cube', 'push_pen'],
        episodes: 2,
        workers: 2,
        env: { imageWidth: 32, imageHeight: 32 },
        logPath: join(dir, 'episodes.jsonl'),
        frames: { dir: join(dir, 'frames'), episodes: [{ task: 'push_pen', seed: 1_000_001 }] },
      });
      expect(report.tasks.map((t) => [t.task, t.successes, t.episodes])).toEqual([
        ['pick_cube', 2, 2],
        ['push_pen', 2, 2],
      ]);
      expect(report.tasks[0].interval[0]).toBeGreaterThan(0.3);
      const lines = readFileSync(join(dir, 'episodes.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(4);
      expect(JSON.parse(lines[0])).toMatchObject({ success: true, failure: null });
      const frames = readdirSync(join(dir, 'frames', 'push_pen', '1000001'));
      const rec = report.episodes.find((e) => e.task === 'push_pen' && e.seed === 1_000_001);
      expect(frames.length).toBe((rec?.steps ?? 0) + 1);
      expect(existsSync(join(dir, 'frames', 'pick_cube'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('full-length episodes of policies that do not do the tasks never succeed (zero, random)', async () => {
    const run = (exportName: string, options: JsonValue) =>
      evaluate({
        policy: { module: '@anchor-refine/sim', exportName, options },
        tasks: [...TASK_IDS],
        episodes: 1,
        workers: 2,
        env: { render: false },
      });
    for (const [name, options] of [
      ['createZeroPolicy', {}],
      ['createRandomPolicy', { seed: 3 }],
    ] as const) {
      const r = await run(name, options);
      for (const e of r.episodes) {
        // the whole episode ran (no early stop) and no success predicate held for its hold time
        expect([e.task, e.success, e.steps], name).toEqual([e.task, false, getTask(e.task).maxSteps]);
        expect(e.failure, `${name} ${e.task}`).not.toBeNull();
      }
      expect(r.tasks.map((t) => t.successes)).toEqual([0, 0, 0, 0]);
    }
    // Success does fire when a task is solved: the expert solves every task with render off in
    // tasks/contract.test.ts, and through this evaluator in the test above.
  });

  it('reports bad configs and policy modules clearly', async () => {
    const policy = { module: '@anchor-refine/sim', exportName: 'createZeroPolicy', options: {} };
    await expect(evaluate({ policy, tasks: ['pick_box' as 'pick_cube'], episodes: 1 })).rejects.toThrow(
      /unknown task id "pick_box"/,
    );
    await expect(evaluate({ policy, tasks: ['pick_cube'], episodes: 0 })).rejects.toThrow(/episodes/);
    await expect(
      evaluate({
        policy: { ...policy, exportName: 'nope' },
        tasks: ['pick_cube'],
        episodes: 1,
        workers: 1,
        env: { render: false },
      }),
    ).rejects.toThrow(/exportName "nope"/);
  });
});
