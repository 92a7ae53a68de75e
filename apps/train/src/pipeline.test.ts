/**
 * The pipeline on a tiny sim dataset: both phases (checkpoints, keep-last-k, JSONL + TensorBoard
 * metrics, validation), the refine phase leaves the anchor bit-identical, closed-loop evaluation in both
 * modes on the same seeds, offline diagnostics, and the HTML report rendered by headless Chromium.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '@anchor-refine/datasets';
import { createPolicy, isXvlaConfig, loadPolicy, savePolicy } from '@anchor-refine/policy';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { evalClosedLoop, formatTable, jsonSummary } from './eval-closed-loop.js';
import { evalOffline } from './eval-offline.js';
import { readJsonl } from './metrics.js';
import { writeReport } from './report.js';
import { RUN_FILES } from './run-layout.js';
import { readEvents } from './tensorboard.js';
import { chromium } from './test-utils/chromium.js';
import { tinyConfig, tinyDataset } from './test-utils/fixture.js';
import { buildPolicyConfig, trainPhase } from './train.js';

let cfg: TrainConfig;

describe('training pipeline (tiny)', () => {
  beforeAll(async () => {
    const data = await tinyDataset(2);
    cfg = tinyConfig(data, mkdtempSync(join(tmpdir(), 'train-run-')));
  });

  it('phase 1: checkpoints (keep-last-k), JSONL and TensorBoard metrics, validation, final policy', async () => {
    // Closed-loop check at the last step (all four tasks, one seed each).
    const r = await trainPhase({ ...cfg, evalEvery: 12, evalEpisodes: 1 }, 'anchor', {
      progress: false,
      log: () => {},
    });
    expect(r.steps).toBe(12);
    expect(Number.isFinite(r.lastLoss)).toBe(true);
    const ck = await listCheckpoints(join(cfg.outDir, 'anchor'));
    expect(ck.map((c) => c.step)).toEqual([8, 12]);
    const lines = readJsonl(join(cfg.outDir, 'anchor', 'metrics.jsonl'));
    expect(lines.filter((l) => l.kind === 'train').map((l) => l.step)).toEqual(
      [...Array(12).keys()].map((i) => i + 1),
    );
    const val = lines.filter((l) => l.kind === 'val');
    expect(val.map((l) => l.step)).toEqual([6, 12]);
    expect(val[0].val_loss).toBeGreaterThan(0);
    const ev = lines.filter((l) => l.kind === 'eval');
    expect(ev.map((l) => l.step)).toEqual([12]);
    // one episode per task: each success is 0 or 1 and the average is their mean
    const perTask = ['pick_cube', 'push_pen', 'stack_blocks', 'open_drawer'].map(
      (t) => ev[0][`success_${t}`],
    );
    for (const v of perTask) expect([0, 1]).toContain(v);
    expect(ev[0].success_avg).toBeCloseTo(perTask.reduce((a, v) => a + Number(v), 0) / 4, 12);
    for (const k of ['loss', 'grad_norm', 'lr', 'arm_mse', 'gripper_error'])
      expect(typeof lines[0][k]).toBe('number');
    const tbDir = join(cfg.outDir, 'anchor', 'tensorboard');
    const events = readEvents(join(tbDir, readdirSync(tbDir)[0]));
    expect(events.filter((e) => e.tag === 'anchor/train/loss').map((e) => e.step)).toEqual(
      lines.filter((l) => l.kind === 'train').map((l) => l.step),
    );
    expect(events.some((e) => e.tag === 'anchor/val_loss')).toBe(true);
    expect(existsSync(join(r.finalDir, 'model.safetensors'))).toBe(true);
  });

  it('phase 2 refuses a phase-1 policy with fewer anchor layers than its config, naming a missing key', async () => {
    const p1 = await loadPolicy(join(cfg.outDir, 'anchor', 'final'));
    const depth = isXvlaConfig(p1.config) ? 0 : p1.config.anchor.depth;
    p1.dispose();
    const deeper: TrainConfig = {
      ...cfg,
      outDir: mkdtempSync(join(tmpdir(), 'train-deeper-')),
      policy: { ...cfg.policy, overrides: { ...cfg.policy.overrides, anchor: { depth: depth + 1 } } },
    };
    const run = trainPhase(deeper, 'refine', {
      init: join(cfg.outDir, 'anchor', 'final'),
      progress: false,
      log: () => {},
    });
    await expect(run).rejects.toThrow(
      new RegExp(`missing key\\(s\\) \\(\\d+\\): anchor\\.\\S*\\.${depth}\\.`),
    );
    expect(existsSync(join(deeper.outDir, 'refine', 'final'))).toBe(false);
  });

  it('phase 2 trains only the refiner: every phase-1 weight stays bit-identical', async () => {
    const r = await trainPhase(cfg, 'refine', { progress: false, log: () => {} });
    const lines = readJsonl(join(cfg.outDir, 'refine', 'metrics.jsonl'));
    expect(lines.filter((l) => l.kind === 'train')).toHaveLength(8);
    expect(typeof lines[0].anchor_arm_mse).toBe('number');
    const p1 = await loadPolicy(join(cfg.outDir, 'anchor', 'final'));
    const p2 = await loadPolicy(r.finalDir);
    const a = p1.stateDict();
    const b = p2.stateDict();
    // phase 2's start: a fresh model of the config (same seed) with Q_ref ← Q_anc
    const start = createPolicy(buildPolicyConfig(cfg));
    const init = start.stateDict();
    let compared = 0;
    const refiner: string[] = [];
    const unchanged: string[] = [];
    for (const [k, v] of b) {
      if (k.startsWith('refiner.')) {
        refiner.push(k);
        const from = k === 'refiner.queries' ? a.get('anchor.queries') : init.get(k);
        expect(from, k).toBeDefined();
        const same = Array.from(v.dataSync()).every((x, i) => x === (from as tf.Tensor).dataSync()[i]);
        if (same) unchanged.push(k);
        continue;
      }
      const w = a.get(k);
      expect(w, k).toBeDefined();
      expect(Array.from(v.dataSync())).toEqual(Array.from((w as tf.Tensor).dataSync()));
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
    // every refiner weight moved away from where phase 2 started it
    expect(refiner.length).toBeGreaterThan(10);
    expect(unchanged).toEqual([]);
    start.dispose();
    tf.dispose([...a.values(), ...b.values()]);
    p1.dispose();
    p2.dispose();
  });

  it('evaluates anchor-only and AnchorRefine closed-loop on the same held-out seeds', async () => {
    const res = await evalClosedLoop({
      checkpoint: join(cfg.outDir, 'refine', 'final'),
      tasks: ['push_pen'],
      episodes: 1,
      workers: 1,
      logDir: join(cfg.outDir, 'eval'),
    });
    for (const m of ['anchor', 'refine'] as const) {
      const r = res.results[m];
      expect(r?.episodes.map((e) => [e.task, e.seed])).toEqual([['push_pen', 1_000_000]]);
      const t = r?.tasks[0];
      const won = r?.episodes[0].success ? 1 : 0;
      expect([t?.successes, t?.successRate]).toEqual([won, won]);
      // 95 % Wilson interval of 1 episode, by hand: z²/(1+z²) = 0.79346 (0 successes), 1/(1+z²) = 0.20654 (1)
      const [lo, hi] = won ? [0.20654, 1] : [0, 0.79346];
      expect(t?.interval[0]).toBeCloseTo(lo, 4);
      expect(t?.interval[1]).toBeCloseTo(hi, 4);
    }
    expect(res.transitions?.push_pen).toBeDefined();
    expect(formatTable(res)).toMatch(/push_pen/);
    expect(Object.keys(jsonSummary(res).anchorRefine)).toEqual(['push_pen']);
    mkdirSync(join(cfg.outDir, 'eval'), { recursive: true });
    writeFileSync(join(cfg.outDir, RUN_FILES.closedLoop), JSON.stringify(res));
  });

  it('offline evaluation: arm error, gripper accuracy, errors around switches, residual compactness', async () => {
    const off = await evalOffline({
      checkpoint: join(cfg.outDir, 'refine', 'final'),
      dataset: cfg.dataset,
      split: 'all',
      maxFrames: 40,
    });
    expect(off.frames).toBe(40);
    for (const v of [
      off.anchor.armMse,
      off.refined.armMse,
      off.compactness.raw.covTrace,
      off.compactness.residual.meanNorm,
    ])
      expect(Number.isFinite(v)).toBe(true);
    // per task: every evaluated frame belongs to one task, and the step-weighted task errors pool to
    // the overall figures
    expect(off.tasks.length).toBeGreaterThan(0);
    expect(off.tasks.reduce((n, t) => n + t.frames, 0)).toBe(off.frames);
    const steps = off.tasks.reduce((n, t) => n + t.steps, 0);
    for (const [mode, key] of [
      ['anchor', 'armMse'],
      ['refined', 'armMse'],
      ['anchor', 'gripperAccuracy'],
      ['refined', 'gripperAccuracy'],
    ] as const)
      expect(off.tasks.reduce((s, t) => s + t.steps * t[mode][key], 0) / steps).toBeCloseTo(
        off[mode][key],
        9,
      );
    expect(off.switchErrors).toHaveLength(11);
    expect(off.switchErrors.some((s) => s.count > 0)).toBe(true);
    writeFileSync(join(cfg.outDir, RUN_FILES.offline), JSON.stringify(off));
    // gripper accuracy is agreement with the labels: an anchor that always closes scores the closed
    // fraction of the evaluated steps, one that always opens the rest, so the two sum to 1
    const accuracy = async (logit: number) => {
      const p = await loadPolicy(join(cfg.outDir, 'refine', 'final'));
      for (const [k, v] of p.namedParameters())
        if (k.startsWith('anchor.') && /scalar\.(weight|bias)$/.test(k))
          tf.tidy(() => v.assign(tf.fill(v.shape, k.endsWith('bias') ? logit : 0)));
      const dir = mkdtempSync(join(tmpdir(), 'train-const-gripper-'));
      await savePolicy(p, dir);
      p.dispose();
      const r = await evalOffline({ checkpoint: dir, dataset: cfg.dataset, split: 'all', maxFrames: 40 });
      return r.anchor.gripperAccuracy;
    };
    const closed = await accuracy(20);
    const open = await accuracy(-20);
    expect(closed + open).toBeCloseTo(1, 10);
    expect(Math.min(closed, open)).toBeGreaterThan(0); // both labels occur
    expect(off.anchor.gripperAccuracy).toBeGreaterThanOrEqual(0);
    expect(off.anchor.gripperAccuracy).toBeLessThanOrEqual(1);
  });

  it('writes an HTML report that headless Chromium renders', (ctx) => {
    const out = writeReport(cfg.outDir);
    const html = readFileSync(out, 'utf8');
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(7);
    for (const title of [
      'Phase 1',
      'Success per task',
      'Residual compactness',
      'steps from a switch',
      'Correction directionality',
      'Failure classes',
    ])
      expect(html).toContain(title);
    const bin = chromium();
    if (!bin) {
      ctx.skip(
        'chromium is not installed (apt-get install -y chromium, or bash tools/bootstrap.sh); the render check needs it',
      );
      return;
    }
    const shot = join(mkdtempSync(join(tmpdir(), 'report-shot-')), 'report.png');
    execFileSync(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--window-size=1200,2400',
        `--screenshot=${shot}`,
        `file://${out}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    );
    const img = decodeImage(readFileSync(shot));
    expect(img.width).toBe(1200);
    // The plots' series colours must appear in the rendered pixels (anchor orange, refine green).
    let orange = 0;
    let green = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      const [r, g, b] = [img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]];
      if (Math.abs(r - 0xd9) < 12 && Math.abs(g - 0x5f) < 12 && b < 30) orange++;
      if (Math.abs(r - 0x1b) < 12 && Math.abs(g - 0x9e) < 12 && Math.abs(b - 0x77) < 12) green++;
    }
    expect(orange).toBeGreaterThan(50);
    expect(green).toBeGreaterThan(50);
  });
});
