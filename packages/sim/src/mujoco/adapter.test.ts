import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sceneXml } from '../scene/arm.js';
import { liveHandles, Sim } from './adapter.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('mujoco-js adapter', () => {
  it('is the only module that imports mujoco-js', () => {
    const importers = files(src)
      .filter((f) => !f.endsWith('.test.ts'))
      .filter((f) => /from ['"]mujoco-js['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f));
    expect(importers).toEqual(['mujoco/adapter.ts']);
  });

  it('turns bad MJCF into an Error naming the scene', async () => {
    await expect(
      Sim.fromXml('<mujoco><worldbody><geom type="box"/></worldbody></mujoco>', 'bad-box'),
    ).rejects.toThrow(/scene "bad-box"/);
    await expect(Sim.fromXml('<mujoco><worldbody>', 'truncated')).rejects.toThrow(/scene "truncated"/);
  });

  it('typed accessors read the compiled scene, and dispose frees all handles', async () => {
    const before = liveHandles();
    const sim = await Sim.fromXml(sceneXml('t', { worldbody: '' }), 't');
    expect(liveHandles()).toBe(before + 5);
    expect(sim.nu).toBe(6);
    expect(sim.timestep).toBeCloseTo(0.004);
    sim.forward();
    const site = sim.id('site', 'grip');
    expect(sim.siteXpos().length).toBe(3 * (site + 1));
    expect(() => sim.id('body', 'no_such_body')).toThrow(/no body named "no_such_body"/);
    sim.dispose();
    expect(liveHandles()).toBe(before);
    expect(() => sim.step()).toThrow(/after dispose/);
  });
});
