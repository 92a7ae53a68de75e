import type { Rng } from '../../math/rng.js';
import type { Vec3 } from '../../math/vec.js';
import type { Sim } from '../../mujoco/adapter.js';
import { nums } from '../../scene/mjcf.js';
import { freePos, freeQuat, geomIds, jitterColors, ModelDefaults, planar, setBodyPos } from '../common.js';
import type { RandomizationOptions, TaskDefinition, TaskInstance, TaskStatus, Waypoint } from '../types.js';

/** Pen: a 10 cm × 1.6 cm marker-like bar (a box, so it slides instead of rolling away). */
const PEN_HALF_LEN = 0.05;
const PEN_R = 0.008;
/** Holder pocket: 12 cm wide (±1 cm slack for the 10 cm pen), 3.5 cm deep, open toward the robot. */
const POCKET_HALF_W = 0.06;
const POCKET_DEPTH = 0.035;
const WALL = 0.006;
const WALL_H = 0.0125;
const PEN_X: [number, number] = [0.11, 0.14];
const PEN_Y: [number, number] = [-0.03, 0.03];
const PEN_YAW = (15 * Math.PI) / 180;
const HOLDER_X: [number, number] = [0.205, 0.22];
/** Holder y relative to the pen's y: the push line stays within ≈12° of straight ahead. */
const HOLDER_DY: [number, number] = [-0.015, 0.015];
/** Pushing height of the grip site: fingertips 3 mm above the table (they must not drag on it). */
const PUSH_Z = 0.013;

/** World direction of the pen's long (local y) axis from its quaternion [w, x, y, z]. */
function penAxis(q: [number, number, number, number]): Vec3 {
  const [w, x, y, z] = q;
  return [2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)];
}

function scene() {
  const d = POCKET_DEPTH;
  return {
    worldbody: `
    <body name="holder" pos="0.21 0 0">
      <geom name="holder_back" type="box" pos="${nums(d / 2 + WALL / 2, 0, WALL_H)}" size="${nums(WALL / 2, POCKET_HALF_W + WALL, WALL_H)}" rgba="0.55 0.25 0.6 1"/>
      <geom name="holder_left" type="box" pos="${nums(0, POCKET_HALF_W + WALL / 2, WALL_H)}" size="${nums(d / 2, WALL / 2, WALL_H)}" rgba="0.55 0.25 0.6 1"/>
      <geom name="holder_right" type="box" pos="${nums(0, -POCKET_HALF_W - WALL / 2, WALL_H)}" size="${nums(d / 2, WALL / 2, WALL_H)}" rgba="0.55 0.25 0.6 1"/>
    </body>
    <body name="pen" pos="0.12 0 ${PEN_R}">
      <freejoint name="pen"/>
      <geom name="pen" type="box" size="${nums(PEN_R, PEN_HALF_LEN, PEN_R)}" mass="0.015" friction="0.6 0.005 0.0001" rgba="0.1 0.1 0.12 1"/>
    </body>`,
    // Low finger–pen friction: the push must slide along the pen, not drag it under the fingertips.
    contact: `
    <pair geom1="pen" geom2="finger_left" condim="3" friction="0.3 0.3 0.005 0.0001 0.0001"/>
    <pair geom1="pen" geom2="finger_right" condim="3" friction="0.3 0.3 0.005 0.0001 0.0001"/>`,
  };
}

class PushPen implements TaskInstance {
  private readonly defaults: ModelDefaults;
  private readonly penJoint: number;
  private readonly holder: number;
  private readonly colorGeoms: number[];
  private start: Vec3 = [0, 0, 0];

  constructor(private readonly sim: Sim) {
    this.defaults = new ModelDefaults(sim);
    this.penJoint = sim.id('joint', 'pen');
    this.holder = sim.id('body', 'holder');
    this.colorGeoms = geomIds(sim, ['pen', 'holder_back', 'holder_left', 'holder_right', 'table']);
  }

  randomize(rng: Rng, o: RandomizationOptions): void {
    this.defaults.restore();
    let pen: Vec3 = [0.125, 0, PEN_R];
    let yaw = 0;
    if (o.objectPoses) {
      pen = [rng.uniform(...PEN_X), rng.uniform(...PEN_Y), PEN_R];
      yaw = rng.uniform(-PEN_YAW, PEN_YAW);
      setBodyPos(this.sim, this.holder, [rng.uniform(...HOLDER_X), pen[1] + rng.uniform(...HOLDER_DY), 0]);
    }
    const a = this.sim.jointQposAdr(this.penJoint);
    this.sim.qpos().set([pen[0], pen[1], pen[2], Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)], a);
    if (o.colors) jitterColors(this.sim, this.colorGeoms, rng);
    this.start = pen;
  }

  private holderPos(): Vec3 {
    const p = this.sim.bodyPos();
    return [p[3 * this.holder], p[3 * this.holder + 1], 0];
  }

  status(): TaskStatus {
    const pen = freePos(this.sim, this.penJoint);
    const axis = penAxis(freeQuat(this.sim, this.penJoint));
    const h = this.holderPos();
    // Both pen ends inside the pocket (axis-aligned with the holder), pen lying on the table.
    let inside = pen[2] < 2 * PEN_R;
    for (const s of [-1, 1]) {
      const ex = pen[0] + s * axis[0] * PEN_HALF_LEN - h[0];
      const ey = pen[1] + s * axis[1] * PEN_HALF_LEN - h[1];
      if (Math.abs(ex) > POCKET_DEPTH / 2 || Math.abs(ey) > POCKET_HALF_W) inside = false;
    }
    return { goal: inside, graspTarget: null, grasped: false, objectDisplacement: planar(pen, this.start) };
  }

  plan(rng: Rng, aimNoise: number): Waypoint[] {
    const pen = freePos(this.sim, this.penJoint);
    const h = this.holderPos();
    const n = () => (aimNoise > 0 ? rng.normal(0, aimNoise) : 0);
    const px = pen[0] + n();
    const py = pen[1] + n();
    const hx = h[0] + n();
    const hy = h[1] + n();
    // Push along pen → pocket centre, fingers (open, 6 cm apart) side by side across the push line.
    const dx = hx - px;
    const dy = hy - py;
    const len = Math.hypot(dx, dy);
    const ux = dx / len;
    const uy = dy / len;
    const yaw = Math.atan2(uy, ux);
    // Start behind the pen's near face where the fingers (±3.5 cm across the push line, 2 cm deep)
    // clear it, given the angle between the pen's normal and the push direction.
    const axis = penAxis(freeQuat(this.sim, this.penJoint));
    const rel = Math.abs(Math.asin(Math.max(-1, Math.min(1, axis[0] * ux + axis[1] * uy))));
    const back = PEN_R / Math.cos(rel) + 0.035 * Math.tan(rel) + 0.01 + 0.008;
    // The fingers' front faces are 1 cm ahead of the site; the pen should end 4 mm past the pocket centre.
    const stop = 0.01 + PEN_R - 0.004;
    const s0: Vec3 = [px - ux * back, py - uy * back, 0.06];
    const s1: Vec3 = [s0[0], s0[1], PUSH_Z];
    const end: Vec3 = [hx - ux * stop, hy - uy * stop, PUSH_Z];
    return [
      { pos: s0, yaw, grip: 0 },
      { pos: s1, yaw, grip: 0, speed: 0.025 },
      { pos: end, yaw, grip: 0, speed: 0.012, hold: 3 },
      { pos: [end[0], end[1], 0.07], yaw, grip: 0 },
    ];
  }
}

export const pushPen: TaskDefinition = {
  id: 'push_pen',
  instruction: 'push the pen into the holder',
  maxSteps: 60,
  holdSteps: 3,
  scene,
  bind: (sim) => new PushPen(sim),
};
