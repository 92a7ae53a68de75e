import type { Rng } from '../../math/rng.js';
import type { Vec3 } from '../../math/vec.js';
import type { Sim } from '../../mujoco/adapter.js';
import { nums } from '../../scene/mjcf.js';
import { FingerContacts, geomIds, jitterColors, ModelDefaults, setBodyPos } from '../common.js';
import type { RandomizationOptions, TaskDefinition, TaskInstance, TaskStatus, Waypoint } from '../types.js';

/** Cabinet outer half sizes (x depth, y width) and height; its open face looks toward the robot (−x). */
const CAB_HX = 0.06;
const CAB_HY = 0.07;
const CAB_H = 0.07;
const T = 0.004;
/** Drawer travel (m) and the opening that counts as open. */
const TRAVEL = 0.1;
const OPEN_TARGET = 0.07;
/** Handle: bar 4 cm in front of the drawer face (room for one finger), 4 cm above the table. */
const HANDLE_OFFSET = 0.04;
const HANDLE_Z = 0.04;
const HANDLE_R = 0.005;
const HANDLE_HALF = 0.035;
/** Cabinet front face x and y ranges. */
const FRONT_X: [number, number] = [0.225, 0.235];
const CAB_Y: [number, number] = [-0.05, 0.05];

function scene() {
  const c = 'rgba="0.45 0.32 0.22 1"';
  const d = 'rgba="0.7 0.55 0.35 1"';
  const dh = 0.028; // drawer half height
  return {
    worldbody: `
    <body name="cabinet" pos="${nums(0.23 + CAB_HX, 0, 0)}">
      <geom name="cab_bottom" type="box" pos="${nums(0, 0, T / 2)}" size="${nums(CAB_HX, CAB_HY, T / 2)}" ${c}/>
      <geom name="cab_top" type="box" pos="${nums(0, 0, CAB_H - T / 2)}" size="${nums(CAB_HX, CAB_HY, T / 2)}" ${c}/>
      <geom name="cab_left" type="box" pos="${nums(0, CAB_HY - T / 2, CAB_H / 2)}" size="${nums(CAB_HX, T / 2, CAB_H / 2)}" ${c}/>
      <geom name="cab_right" type="box" pos="${nums(0, -CAB_HY + T / 2, CAB_H / 2)}" size="${nums(CAB_HX, T / 2, CAB_H / 2)}" ${c}/>
      <geom name="cab_back" type="box" pos="${nums(CAB_HX - T / 2, 0, CAB_H / 2)}" size="${nums(T / 2, CAB_HY, CAB_H / 2)}" ${c}/>
      <body name="drawer" pos="0 0 0">
        <joint name="drawer" type="slide" axis="-1 0 0" range="0 ${TRAVEL}" damping="3" frictionloss="0.2" armature="0.01"/>
        <geom name="drawer_front" type="box" pos="${nums(-CAB_HX + T / 2, 0, T + dh + 0.001)}" size="${nums(T / 2, CAB_HY - T - 0.001, dh)}" ${d}/>
        <geom name="drawer_bottom" type="box" pos="${nums(-0.002, 0, T + 0.003)}" size="${nums(CAB_HX - T - 0.002, CAB_HY - 2 * T, 0.002)}" ${d}/>
        <geom name="drawer_back" type="box" pos="${nums(CAB_HX - 2 * T - 0.004, 0, T + 0.02)}" size="${nums(T / 2, CAB_HY - 2 * T, 0.018)}" ${d}/>
        <geom name="handle_post_l" type="box" pos="${nums(-CAB_HX - HANDLE_OFFSET / 2, HANDLE_HALF - 0.004, HANDLE_Z)}" size="${nums(HANDLE_OFFSET / 2, 0.003, 0.003)}" rgba="0.3 0.3 0.32 1"/>
        <geom name="handle_post_r" type="box" pos="${nums(-CAB_HX - HANDLE_OFFSET / 2, -HANDLE_HALF + 0.004, HANDLE_Z)}" size="${nums(HANDLE_OFFSET / 2, 0.003, 0.003)}" rgba="0.3 0.3 0.32 1"/>
        <geom name="handle" type="capsule" pos="${nums(-CAB_HX - HANDLE_OFFSET, 0, HANDLE_Z)}" quat="0.7071068 0.7071068 0 0" size="${nums(HANDLE_R, HANDLE_HALF)}" friction="1.5 0.005 0.0001" condim="4" rgba="0.3 0.3 0.32 1"/>
      </body>
    </body>`,
    contact: '    <exclude body1="cabinet" body2="drawer"/>',
  };
}

class OpenDrawer implements TaskInstance {
  private readonly defaults: ModelDefaults;
  private readonly cabinet: number;
  private readonly drawerAdr: number;
  private readonly handleGeoms: number[];
  private readonly colorGeoms: number[];
  private readonly fingers: FingerContacts;

  constructor(private readonly sim: Sim) {
    this.defaults = new ModelDefaults(sim);
    this.cabinet = sim.id('body', 'cabinet');
    this.drawerAdr = sim.jointQposAdr(sim.id('joint', 'drawer'));
    this.handleGeoms = geomIds(sim, ['handle', 'handle_post_l', 'handle_post_r', 'drawer_front']);
    this.colorGeoms = geomIds(sim, ['cab_top', 'cab_left', 'cab_right', 'drawer_front', 'table']);
    this.fingers = new FingerContacts(sim);
  }

  randomize(rng: Rng, o: RandomizationOptions): void {
    this.defaults.restore();
    if (o.objectPoses)
      setBodyPos(this.sim, this.cabinet, [rng.uniform(...FRONT_X) + CAB_HX, rng.uniform(...CAB_Y), 0]);
    if (o.colors) jitterColors(this.sim, this.colorGeoms, rng, 0.1);
  }

  private handlePos(): Vec3 {
    const p = this.sim.bodyPos();
    const opening = this.sim.qpos()[this.drawerAdr];
    return [p[3 * this.cabinet] - CAB_HX - HANDLE_OFFSET - opening, p[3 * this.cabinet + 1], HANDLE_Z];
  }

  status(): TaskStatus {
    const opening = this.sim.qpos()[this.drawerAdr];
    const [l, r] = this.fingers.touching(this.handleGeoms);
    return {
      goal: opening >= OPEN_TARGET && !l && !r,
      graspTarget: this.handlePos(),
      grasped: l && r,
      objectDisplacement: opening,
    };
  }

  plan(rng: Rng, aimNoise: number): Waypoint[] {
    const h = this.handlePos();
    const n = () => (aimNoise > 0 ? rng.normal(0, aimNoise) : 0);
    const hx = h[0] + n();
    const hy = h[1] + n();
    // Fingers close along x (yaw π/2) around the bar; pull 8.5 cm toward the robot, release, lift.
    const yaw = Math.PI / 2;
    const pull = 0.085;
    return [
      { pos: [hx, hy, 0.09], yaw, grip: 0 },
      { pos: [hx, hy, HANDLE_Z + 0.002], yaw, grip: 0, speed: 0.025, hold: 1 },
      { pos: [hx, hy, HANDLE_Z + 0.002], yaw, grip: 1, hold: 3 },
      { pos: [hx - pull, hy, HANDLE_Z + 0.002], yaw, grip: 1, speed: 0.02, hold: 1 },
      { pos: [hx - pull, hy, HANDLE_Z + 0.002], yaw, grip: 0, hold: 2 },
      { pos: [hx - pull - 0.01, hy, 0.1], yaw, grip: 0 },
    ];
  }
}

export const openDrawer: TaskDefinition = {
  id: 'open_drawer',
  instruction: 'open the drawer',
  maxSteps: 70,
  holdSteps: 3,
  scene,
  bind: (sim) => new OpenDrawer(sim),
};
