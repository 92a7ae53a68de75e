import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Env } from '../env/env.js';
import { TASK_IDS } from '../env/types.js';
import { runExpert } from '../expert/run.js';
import { Rng } from '../math/rng.js';
import { Sim } from '../mujoco/adapter.js';
import { sceneXml } from '../scene/arm.js';
import { getTask } from './registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const folders = readdirSync(here).filter((f) => statSync(join(here, f)).isDirectory());

describe('task folders', () => {
  it('there is exactly one folder per task id', () => {
    expect([...folders].sort()).toEqual([...TASK_IDS].sort());
  });

  for (const id of TASK_IDS) {
    describe(id, () => {
      it('has index.ts and a README that names the success predicate and the expert', () => {
        expect(existsSync(join(here, id, 'index.ts'))).toBe(true);
        const readme = readFileSync(join(here, id, 'README.md'), 'utf8');
        expect(readme).toMatch(/success/i);
        expect(readme).toMatch(/expert/i);
      });

      it('implements the TaskDefinition contract', async () => {
        const def = getTask(id);
        expect(def.id).toBe(id);
        expect(def.instruction.length).toBeGreaterThan(5);
        expect(def.maxSteps).toBeGreaterThan(def.holdSteps);
        expect(def.maxSteps).toBeLessThanOrEqual(150); // short episodes: 5–15 s at 10 Hz
        const sim = await Sim.fromXml(sceneXml(id, def.scene()), id);
        try {
          const inst = def.bind(sim);
          // Randomization: different seeds give different starts, the same seed the same.
          const start = (seed: number) => {
            sim.reset();
            inst.randomize(new Rng(seed), { objectPoses: true, colors: true });
            sim.forward();
            return [
              Float64Array.from(sim.qpos()),
              Float64Array.from(sim.bodyPos()),
              Float32Array.from(sim.geomRgba()),
            ];
          };
          const a = start(1);
          const b = start(2);
          const a2 = start(1);
          expect(a2).toEqual(a);
          expect(a[0].some((v, i) => v !== b[0][i]) || a[1].some((v, i) => v !== b[1][i])).toBe(true);
          expect(a[2]).not.toEqual(b[2]);
          const st = inst.status();
          expect(st.goal).toBe(false); // no task starts solved
          expect(typeof st.grasped).toBe('boolean');
          const plan = inst.plan(new Rng(0), 0);
          expect(plan.length).toBeGreaterThan(1);
          for (const w of plan) expect(w.grip === 0 || w.grip === 1).toBe(true);
        } finally {
          sim.dispose();
        }
      });

      it('the expert succeeds on a few seeds', async () => {
        const env = await Env.create(id, { render: false });
        try {
          for (const seed of [0, 1, 2]) {
            const r = runExpert(env, seed);
            expect(r.success, `${id} seed ${seed}`).toBe(true);
            expect(r.steps).toBeLessThanOrEqual(env.maxSteps);
          }
        } finally {
          env.close();
        }
      });
    });
  }
});
