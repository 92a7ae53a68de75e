import type { Rng } from '../math/rng.js';
import type { Vec3 } from '../math/vec.js';
import type { Sim } from '../mujoco/adapter.js';
import { FINGER_GEOMS } from '../scene/arm.js';

/** Ids of geoms by name. */
export function geomIds(sim: Sim, names: readonly string[]): number[] {
  return names.map((n) => sim.id('geom', n));
}

/** Remembers model fields a task mutates per episode and restores them before re-randomizing. */
export class ModelDefaults {
  private readonly bodyPos: Float64Array;
  private readonly rgba: Float32Array;

  constructor(private readonly sim: Sim) {
    this.bodyPos = Float64Array.from(sim.bodyPos());
    this.rgba = Float32Array.from(sim.geomRgba());
  }

  restore(): void {
    this.sim.bodyPos().set(this.bodyPos);
    this.sim.geomRgba().set(this.rgba);
  }

  defaultBodyPos(body: number): Vec3 {
    return [this.bodyPos[3 * body], this.bodyPos[3 * body + 1], this.bodyPos[3 * body + 2]];
  }
}

/** Moves a static body (no joint) by writing model body_pos; takes effect at the next forward(). */
export function setBodyPos(sim: Sim, body: number, pos: Vec3): void {
  sim.bodyPos().set(pos, 3 * body);
}

/** Places a free-jointed body: position + yaw about world z. */
export function setFreePose(sim: Sim, joint: number, pos: Vec3, yaw: number): void {
  const a = sim.jointQposAdr(joint);
  sim.qpos().set([pos[0], pos[1], pos[2], Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)], a);
}

export function freePos(sim: Sim, joint: number): Vec3 {
  const q = sim.qpos();
  const a = sim.jointQposAdr(joint);
  return [q[a], q[a + 1], q[a + 2]];
}

export function freeQuat(sim: Sim, joint: number): [number, number, number, number] {
  const q = sim.qpos();
  const a = sim.jointQposAdr(joint);
  return [q[a + 3], q[a + 4], q[a + 5], q[a + 6]];
}

/** Perturbs each listed geom's RGB by up to ±amount per channel (colour domain randomization). */
export function jitterColors(sim: Sim, geoms: readonly number[], rng: Rng, amount = 0.15): void {
  const rgba = sim.geomRgba();
  for (const g of geoms)
    for (let k = 0; k < 3; k++)
      rgba[4 * g + k] = Math.min(1, Math.max(0, rgba[4 * g + k] + rng.uniform(-amount, amount)));
}

/** Tracks finger contacts with a set of object geoms. */
export class FingerContacts {
  private readonly left: number;
  private readonly right: number;

  constructor(private readonly sim: Sim) {
    [this.left, this.right] = geomIds(sim, FINGER_GEOMS);
  }

  /** [left finger touches, right finger touches] any of `objectGeoms`. */
  touching(objectGeoms: readonly number[]): [boolean, boolean] {
    let l = false;
    let r = false;
    for (const c of this.sim.contacts()) {
      const a = c.geom1;
      const b = c.geom2;
      if ((a === this.left && objectGeoms.includes(b)) || (b === this.left && objectGeoms.includes(a)))
        l = true;
      if ((a === this.right && objectGeoms.includes(b)) || (b === this.right && objectGeoms.includes(a)))
        r = true;
    }
    return [l, r];
  }

  anyTouch(objectGeoms: readonly number[]): boolean {
    const [l, r] = this.touching(objectGeoms);
    return l || r;
  }
}

/** Yaw in (−π/4, π/4] equivalent to `yaw` under the 90° symmetry of a square block. */
export function squareYaw(yaw: number): number {
  let y = yaw % (Math.PI / 2);
  if (y > Math.PI / 4) y -= Math.PI / 2;
  if (y <= -Math.PI / 4) y += Math.PI / 2;
  return y;
}

export function planar(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}
