import { describe, expect, it } from 'vitest';
import { Sim } from '../mujoco/adapter.js';
import { RayCaster, type RenderSettings } from './raycaster.js';

const XML = `<mujoco><worldbody>
  <geom name="floor" type="plane" size="1 1 0.01" rgba="0.5 0.5 0.5 1"/>
  <geom name="ball" type="sphere" pos="0 0 0.1" size="0.05" rgba="1 0 0 1"/>
  <geom name="bar" type="capsule" pos="0.3 0 0.05" size="0.02 0.05" rgba="0 1 0 1"/>
  <camera name="top" pos="0 0 1" xyaxes="1 0 0 0 1 0" fovy="60"/>
</worldbody></mujoco>`;

const settings: RenderSettings = {
  width: 64,
  height: 64,
  lightDir: [0, 0, 1],
  cameraOffset: [0, 0, 0],
  cameraYaw: 0,
  cameraPitch: 0,
  shadows: true,
};

describe('RayCaster', () => {
  it('draws primitives where the pinhole model puts them, with a shadow under the ball', async () => {
    const sim = await Sim.fromXml(XML, 'raycaster-test');
    try {
      sim.forward();
      const img = new RayCaster(sim).render(sim.id('camera', 'top'), settings);
      const px = (x: number, y: number) => Array.from(img.subarray(3 * (y * 64 + x), 3 * (y * 64 + x) + 3));
      // Centre pixel: the red ball, lit from straight above.
      const [r, g, b] = px(32, 32);
      expect(r).toBeGreaterThan(200);
      expect(g).toBe(0);
      expect(b).toBe(0);
      // Camera looks down −z with x to the right: the vertical capsule (top at z = 0.12 m) at x = +0.3 m
      // lands 0.3 / 0.88 / tan(30°) · 32 ≈ 19 px right of centre, and is green; the left side is floor.
      const [r2, g2, b2] = px(32 + 19, 32);
      expect(g2).toBeGreaterThan(200);
      expect(r2 + b2).toBe(0);
      const [r3, g3, b3] = px(32 - 19, 32);
      expect(r3 === g3 && g3 === b3).toBe(true);
      // Light from 45° on the +x side: the ball's shadow centre lands at x = −0.1 m on the floor, i.e.
      // ≈ 5.5 px left of centre, outside the ball's silhouette (radius ≈ 3.1 px).
      const oblique = { ...settings, lightDir: [Math.SQRT1_2, 0, Math.SQRT1_2] as [number, number, number] };
      const img2 = new RayCaster(sim).render(sim.id('camera', 'top'), oblique);
      const at = (im: Uint8Array, x: number, y: number) => im[3 * (y * 64 + x)];
      expect(at(img2, 26, 32)).toBeLessThan(at(img2, 5, 5) - 30);
      const noShadow = new RayCaster(sim).render(sim.id('camera', 'top'), { ...oblique, shadows: false });
      // Without shadows the two floor pixels differ only by the weak view-dependent headlight term.
      expect(Math.abs(at(noShadow, 26, 32) - at(noShadow, 5, 5))).toBeLessThan(8);
    } finally {
      sim.dispose();
    }
  });
});
