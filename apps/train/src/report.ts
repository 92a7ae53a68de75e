/**
 * `report`: one self-contained HTML page with SVG plots from a run folder —
 * loss curves of both phases, success per task (anchor-only vs AnchorRefine, 95 % Wilson intervals),
 * residual compactness, gripper error vs steps from a switch, Fail→Success / Success→Fail per task,
 * failure classes, recorded rollouts (anchor-only and AnchorRefine side by side, animated) when
 * `rollouts` ran, and the ablation table when `ablate` ran.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAILURE_CLASSES, GRIPPER_FAILURES } from '@anchor-refine/sim';
import type { ClosedLoopResult } from './eval-closed-loop.js';
import type { OfflineResult } from './eval-offline.js';
import { type MetricLine, readJsonl } from './metrics.js';
import { COLORS, composeRollout, LAYOUT } from './rollout-animation.js';
import {
  decodeFrames,
  type RolloutEntry,
  type RolloutIndex,
  type RolloutOutcome,
  readRollouts,
  type Transition,
} from './rollouts.js';
import { type AblationResult, type AblationRow, ANCHOR_ROW, FULL_ROW, RUN_FILES } from './run-layout.js';
import { barChart, lineChart } from './svg.js';

// Re-exported for demo.ts, which still imports it from here; its home is run-layout.ts.

const C = { anchor: '#d95f02', refine: '#1b9e77', val: '#7570b3', raw: '#999999' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

const missing = (what: string, how: string) =>
  `<p class="missing">No ${esc(what)} in this run (${esc(how)}).</p>`;

function lossSection(run: string): string {
  const lines = [
    ...readJsonl<MetricLine>(join(run, 'anchor', 'metrics.jsonl')),
    ...readJsonl<MetricLine>(join(run, 'refine', 'metrics.jsonl')),
  ];
  if (!lines.length) return missing('training metrics', "run 'train' first");
  const pts = (phase: string, kind: string, key: string) =>
    lines
      .filter((l) => l.phase === phase && l.kind === kind && typeof l[key] === 'number')
      .map((l) => [l.step, l[key] as number] as [number, number]);
  const charts = (['anchor', 'refine'] as const).map((p) =>
    lineChart(
      p === 'anchor' ? 'Phase 1 (anchor, L_anc)' : 'Phase 2 (refine, L_2)',
      'step',
      'loss',
      [
        { name: 'train loss', points: pts(p, 'train', 'loss'), color: p === 'anchor' ? C.anchor : C.refine },
        { name: 'val loss', points: pts(p, 'val', 'val_loss'), color: C.val, dashed: true },
      ],
      { logY: true },
    ),
  );
  return charts.join('\n');
}

function successSection(cl: ClosedLoopResult | undefined): string {
  if (!cl) return missing('closed-loop evaluation', "run 'eval' or 'demo'");
  const a = cl.results.anchor?.tasks ?? [];
  const r = cl.results.refine?.tasks ?? [];
  const tasks = (a.length ? a : r).map((t) => t.task);
  const groups = tasks.map((task) => ({
    label: task,
    bars: [
      ...(a.length ? [a.find((t) => t.task === task)] : []),
      ...(r.length ? [r.find((t) => t.task === task)] : []),
    ]
      .filter((t) => t !== undefined)
      .map((t, i) => ({
        name: a.length && i === 0 ? 'anchor-only' : 'AnchorRefine',
        color: a.length && i === 0 ? C.anchor : C.refine,
        value: 100 * t.successRate,
        interval: [100 * t.interval[0], 100 * t.interval[1]] as [number, number],
      })),
  }));
  let out = barChart(
    `Success per task (${cl.episodesPerTask} held-out seeds each, 95% Wilson CI)`,
    'success %',
    groups,
    { max: 100 },
  );
  if (cl.transitions) {
    const tg = Object.entries(cl.transitions).map(([task, t]) => ({
      label: task,
      bars: [
        { name: 'Fail→Success', color: C.refine, value: t.failToSuccess },
        { name: 'Success→Fail', color: C.anchor, value: t.successToFail },
      ],
    }));
    out += barChart('Correction directionality (anchor-only → AnchorRefine, same seeds)', 'episodes', tg, {
      minTop: 1,
    });
  }
  const modes = (['anchor', 'refine'] as const).filter((m) => cl.results[m]);
  const fg = FAILURE_CLASSES.map((f) => ({
    label: f.replace(/_/g, ' '),
    bars: modes.map((m) => ({
      name: m === 'anchor' ? 'anchor-only' : 'AnchorRefine',
      color: m === 'anchor' ? C.anchor : C.refine,
      value: (cl.results[m]?.tasks ?? []).reduce((s, t) => s + (t.failures[f] ?? 0), 0),
    })),
  }));
  out += barChart('Failure classes (all tasks)', 'episodes', fg, { minTop: 1 });
  const share = modes
    .map((m) => {
      const ts = cl.results[m]?.tasks ?? [];
      const fails = ts.reduce((s, t) => s + (t.episodes - t.successes), 0);
      const g = ts.reduce((s, t) => s + GRIPPER_FAILURES.reduce((x, f) => x + (t.failures[f] ?? 0), 0), 0);
      return `<li>${m === 'anchor' ? 'anchor-only' : 'AnchorRefine'}: ${g} of ${fails} failures gripper-related${fails ? ` (${((100 * g) / fails).toFixed(0)}%)` : ''}</li>`;
    })
    .join('');
  return `${out}<ul>${share}</ul>`;
}

/** Per task: anchor → AnchorRefine arm MSE and gripper accuracy (absent in results from before it). */
function perTaskOffline(off: OfflineResult): string {
  if (!off.tasks?.length) return '';
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows = off.tasks
    .map(
      (t) =>
        `<tr><td>${esc(t.task)}</td><td>${t.frames}</td><td>${t.anchor.armMse.toExponential(3)} → ${t.refined.armMse.toExponential(3)}</td><td>${pct(t.anchor.gripperAccuracy)} → ${pct(t.refined.gripperAccuracy)}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>task</th><th>frames</th><th>arm MSE anchor → AnchorRefine</th><th>gripper accuracy</th></tr>${rows}</table>`;
}

function offlineSection(off: OfflineResult | undefined): string {
  if (!off) return missing('offline evaluation', "run 'eval --offline' or 'demo'");
  const c = off.compactness;
  const comp = barChart(`Residual compactness (${c.chunks} chunks, normalized units)`, 'value', [
    {
      label: 'mean ℓ2 norm',
      bars: [
        { name: 'raw chunk A', color: C.raw, value: c.raw.meanNorm },
        { name: 'residual R = A − Â_anc', color: C.refine, value: c.residual.meanNorm },
      ],
    },
    {
      label: 'covariance trace',
      bars: [
        { name: 'raw chunk A', color: C.raw, value: c.raw.covTrace },
        { name: 'residual R = A − Â_anc', color: C.refine, value: c.residual.covTrace },
      ],
    },
  ]);
  const sw = off.switchErrors;
  const grip = lineChart(
    'Gripper decision error vs steps from a switch',
    'steps relative to the nearest gripper switch',
    'error rate',
    [
      {
        name: 'anchor',
        points: sw.filter((s) => s.anchor !== null).map((s) => [s.distance, s.anchor as number]),
        color: C.anchor,
      },
      {
        name: 'refined',
        points: sw.filter((s) => s.refined !== null).map((s) => [s.distance, s.refined as number]),
        color: C.refine,
      },
    ],
  );
  const table = `<table><tr><th></th><th>arm MSE (rad²)</th><th>gripper accuracy</th></tr>
<tr><td>anchor</td><td>${off.anchor.armMse.toExponential(3)}</td><td>${(100 * off.anchor.gripperAccuracy).toFixed(1)}%</td></tr>
<tr><td>AnchorRefine</td><td>${off.refined.armMse.toExponential(3)}</td><td>${(100 * off.refined.gripperAccuracy).toFixed(1)}%</td></tr></table>${perTaskOffline(off)}
<p>${off.frames} frames of ${off.episodes} held-out episodes.</p>`;
  return table + comp + grip;
}

const TRANSITION_LABEL: Record<Transition, string> = {
  'F→S': 'Fail→Success',
  'S→F': 'Success→Fail',
  'S→S': 'both succeed',
  'F→F': 'both fail',
};
const rgb = (c: readonly number[]) => `rgb(${c.join(',')})`;
const ZOOM = 2;

function rolloutFigure(index: RolloutIndex, dir: string, e: RolloutEntry): string {
  const frames = {
    anchor: decodeFrames(readFileSync(join(dir, e.modes.anchor.file))).frames,
    refine: decodeFrames(readFileSync(join(dir, e.modes.refine.file))).frames,
  };
  const a = composeRollout(e, frames, index.imageSize, index.fps);
  const told = (r: RolloutOutcome) =>
    r.success
      ? `success in ${r.steps} steps`
      : `fail: ${(r.failure ?? 'unknown').replace(/_/g, ' ')} (${r.steps} steps)`;
  const side = (m: 'anchor' | 'refine') => {
    const r = e.modes[m];
    const what = told(r);
    const warn = r.matchesEval
      ? ''
      : ` <b class="missing">re-run differs from the evaluation (${told(e.evaluated[m])})</b>`;
    return `<span style="width:${a.half * ZOOM}px"><b style="color:${m === 'anchor' ? C.anchor : C.refine}">${m === 'anchor' ? 'anchor-only' : 'AnchorRefine'}</b>: ${esc(what)}${warn}</span>`;
  };
  const alt = `${e.task} seed ${e.seed}: anchor-only (left) and AnchorRefine (right), front camera`;
  return `<figure class="rollout"><div class="rl-head" style="gap:${LAYOUT.gap * ZOOM}px">${side('anchor')}${side('refine')}</div>
<img src="data:image/png;base64,${Buffer.from(a.png).toString('base64')}" width="${a.width * ZOOM}" height="${a.height * ZOOM}" alt="${esc(alt)}">
<figcaption><b>${esc(e.task)}</b> · seed ${e.seed} · ${TRANSITION_LABEL[e.transition]} · ${a.frames} frames at ${index.fps} fps</figcaption></figure>`;
}

function rolloutsSection(run: string): string {
  const index = readRollouts(run);
  const how = `run 'anchor-refine rollouts --run ${run}' after 'eval --run ${run}'`;
  if (!index?.entries.length) return missing('recorded rollouts', how);
  const dir = join(run, RUN_FILES.rollouts, '..');
  const swatch = (c: readonly number[]) => `<span class="sw" style="background:${rgb(c)}"></span>`;
  const legend = `<p>Same seed, same checkpoint: anchor-only (left) and AnchorRefine (right), front camera at the policy's
${index.imageSize}×${index.imageSize} px, real time. Under each frame: the gripper command ${swatch(COLORS.closed)} closed /
${swatch(COLORS.open)} open, and its measured closure ${swatch(COLORS.closure)} (empty = fully open); below, the
whole episode's commands with the playhead ${swatch(COLORS.playhead)} (${swatch(COLORS.ended)} = the episode has ended; its last
frame is shown faded). Fail→Success seeds first, then Success→Fail, then the rest.</p>`;
  return legend + index.entries.map((e) => rolloutFigure(index, dir, e)).join('\n');
}

function ablationSection(ab: AblationResult | undefined): string {
  if (!ab) return missing('ablation', "run 'ablate'");
  const vs = (v: AblationRow, name: string) => {
    const p = v.paired?.find((x) => x.against === name);
    if (!p) return '<td>—</td>';
    return `<td>${p.gain >= 0 ? '+' : ''}${(100 * p.gain).toFixed(1)} (F→S ${p.failToSuccess}, S→F ${p.successToFail}; p = ${p.pValue.toPrecision(2)})</td>`;
  };
  const rows = ab.variants
    .map(
      (v) =>
        `<tr><td>${esc(v.name)}</td><td>${(100 * v.average).toFixed(1)}%</td><td>${v.tasks.map((t) => `${t.task} ${(100 * t.successRate).toFixed(0)}% [${(100 * t.interval[0]).toFixed(0)}, ${(100 * t.interval[1]).toFixed(0)}]`).join(', ')}</td>${vs(v, ANCHOR_ROW)}${vs(v, FULL_ROW)}</tr>`,
    )
    .join('');
  return `<table><tr><th>variant</th><th>average SR</th><th>per task (95 % Wilson)</th><th>vs anchor-only (exact McNemar)</th><th>vs full AnchorRefine</th></tr>${rows}</table><p>${ab.episodesPerTask} seeds per task from ${ab.seedOffset}; every row ran the same seeds, so each is paired episode by episode.</p>`;
}

export function renderReport(run: string): string {
  const cl = readJson<ClosedLoopResult>(join(run, RUN_FILES.closedLoop));
  const off = readJson<OfflineResult>(join(run, RUN_FILES.offline));
  const ab = readJson<AblationResult>(join(run, RUN_FILES.ablation));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AnchorRefine report</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}svg{margin:6px;border:1px solid #ddd;background:#fff}
table{border-collapse:collapse}figure.rollout{display:inline-block;margin:8px 12px 12px 0;vertical-align:top}
figure.rollout img{image-rendering:pixelated;display:block}.rl-head{display:flex;align-items:flex-end;min-height:2.4em;font-size:12px}.rl-head span{display:inline-block}
figcaption{font-size:13px;margin-top:2px}.sw{display:inline-block;width:10px;height:10px;vertical-align:middle}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}.missing{color:#a00}</style></head>
<body><h1>AnchorRefine report</h1><p>Run folder: <code>${esc(run)}</code>; generated ${new Date().toISOString()}.</p>
<h2>Training</h2>${lossSection(run)}
<h2>Closed-loop evaluation</h2>${successSection(cl)}
<h2 id="rollouts">Rollouts</h2>${rolloutsSection(run)}
<h2>Offline diagnostics</h2>${offlineSection(off)}
<h2>Ablations</h2>${ablationSection(ab)}
</body></html>
`;
}

export function writeReport(run: string, out = join(run, RUN_FILES.report)): string {
  writeFileSync(out, renderReport(run));
  return out;
}
