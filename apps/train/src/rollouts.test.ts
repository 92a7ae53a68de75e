/**
 * Rollouts: the pick order (F→S, S→F, S→S, F→F, tasks taking turns), the lossless frame store, the
 * composed side-by-side animation pixel by pixel, and end to end on a tiny checkpoint: the re-run
 * reproduces the evaluated episodes, frame 0 is the env's own first observation, and the report embeds
 * an animated PNG that headless Chromium renders.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '@anchor-refine/datasets';
import { AnchorRefinePolicy, policyConfig, savePolicy } from '@anchor-refine/policy';
import { Env, type EpisodeRecord, type TaskId, type TaskReport } from '@anchor-refine/sim';
import { describe, expect, it } from 'vitest';
import { ARM_DIM } from './data.js';
import { type ClosedLoopResult, evalClosedLoop } from './eval-closed-loop.js';
import { renderReport } from './report.js';
import { CLOSURE_X, COLORS, composeRollout, LAYOUT } from './rollout-animation.js';
import { decodeFrames, encodeFrames, pickRollouts, type RolloutEntry, recordRollouts } from './rollouts.js';
import { RUN_FILES } from './run-layout.js';
import { chromium } from './test-utils/chromium.js';

const ep = (task: TaskId, seed: number, success: boolean): EpisodeRecord =>
  ({ task, seed, success, steps: 10, failure: success ? null : 'timeout' }) as EpisodeRecord;

/** anchor / refine outcomes per (task, seed) as 'SF' strings → a two-mode closed-loop result */
function result(outcomes: Record<string, string>): ClosedLoopResult {
  const tasks = [...new Set(Object.keys(outcomes).map((k) => k.split(':')[0] as TaskId))];
  const mode = (i: number) => ({
    mode: i === 0 ? ('anchor' as const) : ('refine' as const),
    tasks: tasks.map((task) => ({ task }) as TaskReport),
    episodes: Object.entries(outcomes).map(([k, v]) => {
      const [task, seed] = k.split(':');
      return ep(task as TaskId, Number(seed), v[i] === 'S');
    }),
    wallMs: 0,
  });
  return {
    checkpoint: 'x',
    seedOffset: 0,
    episodesPerTask: 0,
    results: { anchor: mode(0), refine: mode(1) } as ClosedLoopResult['results'],
  };
}

describe('pickRollouts', () => {
  const cl = result({
    'push_pen:5': 'FS',
    'push_pen:3': 'SS',
    'push_pen:1': 'FS',
    'push_pen:2': 'FF',
    'pick_cube:7': 'FS',
    'pick_cube:4': 'SF',
    'pick_cube:9': 'FF',
    'pick_cube:8': 'SS',
  });
  const key = (p: { task: string; seed: number; transition: string }) =>
    `${p.transition} ${p.task}:${p.seed}`;

  it('orders Fail→Success, Success→Fail, both succeed, both fail; tasks take turns, seeds ascending', () => {
    expect(pickRollouts(cl, 100).map(key)).toEqual([
      'F→S push_pen:1',
      'F→S pick_cube:7',
      'F→S push_pen:5',
      'S→F pick_cube:4',
      'S→S push_pen:3',
      'S→S pick_cube:8',
      'F→F push_pen:2',
      'F→F pick_cube:9',
    ]);
    expect(pickRollouts(cl, 4).map(key)).toEqual([
      'F→S push_pen:1',
      'F→S pick_cube:7',
      'F→S push_pen:5',
      'S→F pick_cube:4',
    ]);
    const p = pickRollouts(cl, 1)[0];
    expect(p.evaluated.anchor.success).toBe(false);
    expect(p.evaluated.refine).toEqual({ success: true, steps: 10, failure: null });
  });

  it('needs both modes', () => {
    const one = { ...cl, results: { anchor: cl.results.anchor } };
    expect(() => pickRollouts(one, 3)).toThrow(/both modes/);
  });
});

describe('rollout animation', () => {
  it('stores frames losslessly', () => {
    const frames = [0, 1, 2].map((t) =>
      Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37 + t * 91) % 256),
    );
    const d = decodeFrames(encodeFrames(frames, 5, 4));
    expect([d.width, d.height]).toEqual([5, 4]);
    expect(d.frames).toEqual(frames);
  });

  it('composes both modes side by side with the gripper bar, the command strip and the playhead', () => {
    const size = 48; // scaled ×2 to 96
    const solid = (c: number[]) => Uint8Array.from({ length: size * size * 3 }, (_, i) => c[i % 3]);
    const anchorFrames = [solid([200, 0, 0]), solid([210, 0, 0]), solid([220, 0, 0])];
    const refineFrames = [solid([0, 200, 0]), solid([0, 210, 0]), solid([0, 220, 0]), solid([0, 230, 0])];
    const mode = (n: number, gripper: number[], command: number[]) => ({
      success: false,
      steps: n - 1,
      failure: null,
      file: '',
      frames: n,
      gripper,
      command,
      matchesEval: true,
    });
    const entry: RolloutEntry = {
      task: 'pick_cube',
      seed: 1,
      transition: 'F→F',
      evaluated: {
        anchor: { success: false, steps: 2, failure: null },
        refine: { success: false, steps: 3, failure: null },
      },
      modes: { anchor: mode(3, [0, 0.5, 1], [1, 1]), refine: mode(4, [0, 0, 0.25, 0.25], [0, 0, 0]) },
    };
    const c = composeRollout(entry, { anchor: anchorFrames, refine: refineFrames }, size, 10);
    expect([c.half, c.scale, c.frames]).toEqual([96, 2, 4]);
    expect([c.width, c.height]).toEqual([
      2 * 96 + LAYOUT.gap,
      96 + 2 * LAYOUT.barGap + LAYOUT.bar + LAYOUT.strip,
    ]);
    const d = decodeFrames(c.png);
    expect(d.frames).toHaveLength(4);
    const at = (t: number, x: number, y: number) =>
      Array.from(d.frames[t].subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));
    const near = (got: number[], want: readonly number[]) => {
      for (let i = 0; i < 3; i++)
        expect(Math.abs(got[i] - want[i]), `${got} vs ${want}`).toBeLessThanOrEqual(6);
    };
    const right = 96 + LAYOUT.gap;
    const barY = 96 + LAYOUT.barGap + 1;
    const stripY = 96 + LAYOUT.barGap + LAYOUT.bar + LAYOUT.barGap + 1;
    // frames: anchor left, refine right; at t = 3 the anchor (3 frames) holds its last one, faded to white
    near(at(1, 10, 10), [210, 0, 0]);
    near(at(1, right + 10, 10), [0, 210, 0]);
    near(at(3, 10, 10), [238, 128, 128]);
    near(at(3, right + 10, 10), [0, 230, 0]);
    // gripper row: the command square, then the closure bar over the remaining 96 − 10 = 86 px
    near(at(1, 3, barY), COLORS.closed); // anchor commanded closed at t = 1
    near(at(1, right + 3, barY), COLORS.open);
    near(at(1, CLOSURE_X + 42, barY), COLORS.closure); // closure 0.5 → 43 px
    near(at(1, CLOSURE_X + 43, barY), COLORS.barBackground);
    near(at(2, right + CLOSURE_X + 21, barY), COLORS.closure); // refine 0.25 → round(21.5) = 22 px
    near(at(2, right + CLOSURE_X + 22, barY), COLORS.barBackground);
    near(at(0, CLOSURE_X, barY), COLORS.barBackground); // closure 0: empty
    // strip over T = 4 steps (24 px each): anchor closed for steps 0-1, ended from step 2 (its last frame)
    near(at(0, 30, stripY), COLORS.closed);
    near(at(0, 60, stripY), COLORS.ended);
    near(at(0, right + 60, stripY), COLORS.open);
    near(at(0, right + 80, stripY), COLORS.ended);
    // playhead at t = 2: x = 2·96/4 = 48 (2 px wide)
    near(at(2, 48, stripY), COLORS.playhead);
    near(at(2, right + 49, stripY), COLORS.playhead);
    near(at(2, right + 51, stripY), COLORS.open);
  });
});

describe('rollouts end to end (tiny checkpoint)', () => {
  it('re-runs the evaluated seeds identically and the report embeds the animation', async (ctx) => {
    const root = mkdtempSync(join(tmpdir(), 'rollouts-'));
    const checkpoint = join(root, 'ckpt');
    const policy = new AnchorRefinePolicy(
      policyConfig('tiny', { seed: 5, backbone: { config: { stateDim: ARM_DIM, armDim: ARM_DIM } } }),
    );
    await savePolicy(policy, checkpoint);
    policy.dispose();
    const run = join(root, 'run');
    const cl = await evalClosedLoop({ checkpoint, tasks: ['push_pen'], episodes: 1, workers: 1 });
    mkdirSync(join(run, 'eval'), { recursive: true });
    writeFileSync(join(run, RUN_FILES.closedLoop), JSON.stringify(cl));
    expect(renderReport(run)).toContain("No recorded rollouts in this run (run 'anchor-refine rollouts");

    const index = await recordRollouts({ run, count: 3 });
    expect(index.entries).toHaveLength(1); // one seed was evaluated
    const e = index.entries[0];
    const seed = 1_000_000;
    expect([e.task, e.seed]).toEqual(['push_pen', seed]);
    const env = await Env.create('push_pen', { imageWidth: index.imageSize, imageHeight: index.imageSize });
    const first = env.reset(seed).images.front.data.slice();
    env.close();
    for (const m of ['anchor', 'refine'] as const) {
      const r = e.modes[m];
      const evaluated = cl.results[m]?.episodes[0];
      expect(r.matchesEval, m).toBe(true);
      expect([r.success, r.steps, r.failure]).toEqual([
        evaluated?.success,
        evaluated?.steps,
        evaluated?.failure,
      ]);
      const stored = decodeFrames(readFileSync(join(run, 'eval', 'rollouts', r.file)));
      expect(stored.frames).toHaveLength(r.steps + 1);
      expect(r.gripper).toHaveLength(r.steps + 1);
      expect(r.command).toHaveLength(r.steps);
      expect(stored.frames[0]).toEqual(first);
    }

    const html = renderReport(run);
    const uris = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)"/g)];
    expect(uris).toHaveLength(1);
    const anim = decodeFrames(Buffer.from(uris[0][1], 'base64'));
    expect(anim.frames).toHaveLength(Math.max(e.modes.anchor.frames, e.modes.refine.frames));
    expect(html).toContain(`push_pen</b> · seed ${seed}`);

    const bin = chromium();
    if (!bin) {
      ctx.skip('chromium is not installed (apt-get install -y chromium); the render check needs it');
      return;
    }
    const page = join(root, 'report.html');
    writeFileSync(page, html);
    const shot = join(root, 'shot.png');
    execFileSync(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--window-size=1200,2400',
        `--screenshot=${shot}`,
        `file://${page}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    );
    // the animation is drawn: its command strips (2 × 12 × 192 px at zoom 2, besides the legend's two
    // 10 × 10 swatches) and the empty closure bars
    const img = decodeImage(readFileSync(shot));
    const count = (c: readonly number[]) => {
      let n = 0;
      for (let i = 0; i < img.width * img.height; i++)
        if ([0, 1, 2].every((k) => Math.abs(img.data[i * 3 + k] - c[k]) < 8)) n++;
      return n;
    };
    expect(count(COLORS.closed) + count(COLORS.open)).toBeGreaterThan(2000);
    expect(count(COLORS.barBackground)).toBeGreaterThan(2000);
  }, 120_000);
});
