// Shared loader: imports the toolkit packages from the checkout in process.cwd() (cwd = the checkout): their
// sources (run with node --conditions=@anchor-refine/source --import tools/tsx-lean.mjs) or, with
// TOOLKIT_FROM=dist, their built JavaScript (plain node, after `npx tsc -b`).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.cwd();
const req = createRequire(path.join(root, 'package.json'));
/**
 * TOOLKIT_FROM=dist: the packages' built JavaScript (`npx tsc -b`), as a library consumer runs them, in plain
 * node (no TypeScript loader: tsx's module hooks run in a thread of their own, ~30 MB). Default: the sources.
 */
const FROM_DIST = process.env.TOOLKIT_FROM === 'dist';
const entry = FROM_DIST ? ['dist', 'index.js'] : ['src', 'index.ts'];
const imp = (spec) => import(pathToFileURL(path.join(root, 'node_modules', spec, ...entry)).href);
export const tf = await import(pathToFileURL(req.resolve('@tensorflow/tfjs')).href);
export const ct = await imp('@anchor-refine/core-tensors');
export const nn = await imp('@anchor-refine/nn');
export const pol = await imp('@anchor-refine/policy');

/** BENCH_PRESET=demo: the full demo's GR-1 (small at history 1, batch 16; apps/train/src/demo.ts). */
export const DEMO_PRESET = process.env.BENCH_PRESET === 'demo';

/** The bench's setup (tools/bench/policy.ts): small preset fed by SyntheticReachTask (state 6, arm 3). */
export function benchSetup(batchSize = DEMO_PRESET ? 16 : 8) {
  const task = new pol.SyntheticReachTask({ episodes: 8, imageSize: 96, seed: 1 });
  const history = DEMO_PRESET ? { history: 1 } : {};
  const cfg = pol.policyConfig('small', {
    backbone: { config: { stateDim: task.stateDim, armDim: 3, ...history } },
  });
  const bb = cfg.backbone.config;
  const batch = task.batch(new nn.Rng(2), batchSize, bb.history, bb.horizon, [0, 1, 2, 3, 4, 5, 6, 7]);
  return { task, cfg, bb, batch };
}

export function countParams(policy) {
  const byTop = {};
  let total = 0;
  for (const [name, v] of policy.namedParameters()) {
    const n = v.size;
    total += n;
    const top = name.split('.').slice(0, 2).join('.');
    byTop[top] = (byTop[top] ?? 0) + n;
  }
  return { total, byTop };
}
