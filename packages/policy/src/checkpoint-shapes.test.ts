/**
 * loadPolicy checks config.json against the weights' header before building the model: a mismatch is
 * refused naming the field, without allocating; and every numeric config field that changes a parameter
 * shape is covered by a rule (each one is perturbed in turn).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { florenceToyVl, gr1Config } from '@anchor-refine/backbones';
import type { HeaderEntry } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { type AnyPolicyConfig, createPolicy, validateAnyPolicyConfig } from './any.js';
import { loadPolicy, savePolicy } from './checkpoint.js';
import { checkConfigAgainstHeader } from './checkpoint-shapes.js';
import { policyConfig } from './config.js';
import { xvlaPolicyConfig } from './xvla/config.js';

const members: Array<{ name: string; config: () => AnyPolicyConfig }> = [
  { name: 'gr1', config: () => policyConfig('tiny', { backbone: { config: { stateDim: 4, armDim: 3 } } }) },
  {
    name: 'gr1 with keypoint tokens',
    config: () =>
      policyConfig('tiny', {
        backbone: {
          config: {
            stateDim: 4,
            armDim: 3,
            vision: { ...gr1Config('tiny').vision, keypoints: 3, posEmbed: 'sincos' },
          },
        },
      }),
  },
  { name: 'xvla small', config: () => xvlaPolicyConfig('tiny', { armDim: 3, stateDim: 4 }) },
  {
    name: 'xvla florence2',
    config: () =>
      xvlaPolicyConfig('tiny', {
        armDim: 3,
        stateDim: 4,
        overrides: { backbone: { config: { vl: florenceToyVl({ stageDepths: [1, 2, 1, 1] }) } } },
      }),
  },
];

/** The header a policy's checkpoint would have (names and shapes; offsets are irrelevant here). */
function headerOf(cfg: AnyPolicyConfig): HeaderEntry[] {
  const p = createPolicy(cfg);
  try {
    return [...p.stateDict()].map(([name, t]) => ({
      name,
      dtype: 'F32' as const,
      shape: [...t.shape],
      begin: 0,
      end: 0,
    }));
  } finally {
    p.dispose();
  }
}

const shapeKey = (h: HeaderEntry[]) => JSON.stringify(h.map((e) => [e.name, e.shape]).sort());

/** Every numeric leaf under `obj` as [path, value]; arrays of numbers per element. */
function numericLeaves(obj: unknown, path: string[] = []): Array<[string[], number]> {
  if (typeof obj === 'number') return [[path, obj]];
  if (obj === null || typeof obj !== 'object') return [];
  return Object.entries(obj).flatMap(([k, v]) => numericLeaves(v, [...path, k]));
}

function withValue(cfg: AnyPolicyConfig, path: string[], value: number): AnyPolicyConfig {
  const copy = structuredClone(cfg) as unknown as Record<string, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[path.at(-1) as string] = value;
  return copy as unknown as AnyPolicyConfig;
}

function isValid(cfg: AnyPolicyConfig): boolean {
  try {
    validateAnyPolicyConfig(cfg);
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.each(members)('config vs weights header: $name', ({ config }) => {
  it('the matching header passes', () => {
    const cfg = config();
    expect(() => checkConfigAgainstHeader(cfg, headerOf(cfg))).not.toThrow();
  });

  it('every numeric field that changes a parameter shape is refused, naming the field', () => {
    const cfg = config();
    const header = headerOf(cfg);
    const base = shapeKey(header);
    let shapeBearing = 0;
    for (const [path, value] of numericLeaves(cfg)) {
      const field = path
        .map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k}`))
        .join('')
        .slice(1)
        .replace(/\.\[/g, '[');
      const candidates = [value * 2, value + 1, value > 1 ? value - 1 : value + 2];
      const changed = candidates.map((v) => withValue(cfg, path, v)).find(isValid);
      if (changed === undefined) continue;
      if (shapeKey(headerOf(changed)) === base) continue; // does not size any parameter
      shapeBearing += 1;
      let message = '';
      try {
        checkConfigAgainstHeader(changed, header);
      } catch (err) {
        message = (err as Error).message;
      }
      // The rule may name the field itself or the array / product it belongs to.
      const stem = field.replace(/\[\d+\]$/, '');
      expect(message, `${field} changed the shapes but was not refused`).toMatch(/config field /);
      expect(
        message.includes(field) || message.includes(stem) || /heads × dimHead/.test(message),
        `${field}: ${message}`,
      ).toBe(true);
    }
    expect(shapeBearing).toBeGreaterThan(8);
  });
});

describe('loadPolicy refuses a config that does not fit its weights before building it', () => {
  it('dim 8192 beside tiny weights: refused at once, naming backbone.config.dim, nothing allocated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-ckpt-shapes-'));
    dirs.push(dir);
    const ckpt = join(dir, 'ckpt');
    const p = createPolicy(policyConfig('tiny'));
    await savePolicy(p, ckpt);
    p.dispose();
    const configPath = join(ckpt, 'config.json');
    const cfg = JSON.parse(await readFile(configPath, 'utf8')) as AnyPolicyConfig;
    if (cfg.backbone.type !== 'gr1') throw new Error('expected a gr1 config');
    cfg.backbone.config.dim = 8192;
    await writeFile(configPath, JSON.stringify(cfg));
    const before = tf.memory().numBytes;
    const t0 = performance.now();
    await expect(loadPolicy(ckpt)).rejects.toThrow(
      `loadPolicy: ${configPath}: config field backbone.config.dim = 8192 does not match tensor anchor.trunk.embed_ln.weight of shape [32] (axis 0)`,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(tf.memory().numBytes).toBe(before);
  });
});
