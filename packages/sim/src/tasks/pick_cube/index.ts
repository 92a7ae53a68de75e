import type { Rng } from '../../math/rng.js';
import { quatYaw, type Vec3 } from '../../math/vec.js';
import type { Sim } from '../../mujoco/adapter.js';
import { nums } from '../../scene/mjcf.js';
import {
  FingerContacts,
  freePos,
  freeQuat,
  geomIds,
  jitterColors,
  ModelDefaults,
  planar,
  setBodyPos,
  setFreePose,
  squareYaw,
} from '../common.js';
import type { RandomizationOptions, TaskDefinition, TaskInstance, TaskStatus, Waypoint } from '../types.js';

/** Cube edge half-length (3 cm cube, like the paper's). */
const CUBE = 0.015;
/** Inner half-width of the box: 6.4 cm opening leaves ±1.7 cm of slack around the 3 cm cube. */
const BIN_INNER = 0.032;
const BIN_WALL = 0.004;
const BIN_HEIGHT = 0.04;
/** Cube start region (m) and yaw range; the box sits on the robot's right. */
const CUBE_X: [number, number] = [0.12, 0.2];
const CUBE_Y: [number, number] = [-0.01, 0.09];
const CUBE_YAW = Math.PI / 4;
const BIN_HOME: Vec3 = [0.16, -0.1, 0];
const BIN_JITTER = 0.02;

function scene() {
  const w = BIN_INNER + BIN_WALL;
  const h = BIN_HEIGHT / 2;
  const wall = (name: string, x: number, y: number, sx: number, sy: number) =>
    `<geom name="${name}" type="box" pos="${nums(x, y, h)}" size="${nums(sx, sy, h)}" rgba="0.15 0.35 0.75 1"/>`;
  return {
    worldbody: `
    <body name="bin" pos="${nums(...BIN_HOME)}">
      <geom name="bin_floor" type="box" pos="0 0 0.002" size="${nums(w, w, 0.002)}" rgba="0.15 0.35 0.75 1"/>
      ${wall('bin_wall_px', w - BIN_WALL / 2, 0, BIN_WALL / 2, w)}
      ${wall('bin_wall_nx', -w + BIN_WALL / 2, 0, BIN_WALL / 2, w)}
      ${wall('bin_wall_py', 0, w - BIN_WALL / 2, w - BIN_WALL, BIN_WALL / 2)}
      ${wall('bin_wall_ny', 0, -w + BIN_WALL / 2, w - BIN_WALL, BIN_WALL / 2)}
    </body>
    <body name="cube" pos="0.15 0.04 ${CUBE}">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="${nums(CUBE, CUBE, CUBE)}" mass="0.03" friction="1.5 0.005 0.0001" condim="4" rgba="0.12 0.12 0.13 1"/>
    </body>`,
  };
}

class PickCube implements TaskInstance {
  private readonly defaults: ModelDefaults;
  private readonly cubeJoint: number;
  private readonly cubeGeom: number[];
  private readonly bin: number;
  private readonly colorGeoms: number[];
  private readonly fingers: FingerContacts;
  private start: Vec3 = [0, 0, 0];

  constructor(private readonly sim: Sim) {
    this.defaults = new ModelDefaults(sim);
    this.cubeJoint = sim.id('joint', 'cube');
    this.cubeGeom = geomIds(sim, ['cube']);
    this.bin = sim.id('body', 'bin');
    this.colorGeoms = geomIds(sim, [
      'cube',
      'bin_floor',
      'bin_wall_px',
      'bin_wall_nx',
      'bin_wall_py',
      'bin_wall_ny',
      'table',
    ]);
    this.fingers = new FingerContacts(sim);
  }

  randomize(rng: Rng, o: RandomizationOptions): void {
    this.defaults.restore();
    let cube: Vec3 = [0.16, 0.04, CUBE];
    let yaw = 0;
    if (o.objectPoses) {
      cube = [rng.uniform(...CUBE_X), rng.uniform(...CUBE_Y), CUBE];
      yaw = rng.uniform(-CUBE_YAW, CUBE_YAW);
      const bin: Vec3 = [
        BIN_HOME[0] + rng.uniform(-BIN_JITTER, BIN_JITTER),
        BIN_HOME[1] + rng.uniform(-BIN_JITTER, BIN_JITTER),
        0,
      ];
      setBodyPos(this.sim, this.bin, bin);
    }
    setFreePose(this.sim, this.cubeJoint, cube, yaw);
    if (o.colors) jitterColors(this.sim, this.colorGeoms, rng);
    this.start = cube;
  }

  private binCentre(): Vec3 {
    const p = this.sim.bodyPos();
    return [p[3 * this.bin], p[3 * this.bin + 1], p[3 * this.bin + 2]];
  }

  status(): TaskStatus {
    const cube = freePos(this.sim, this.cubeJoint);
    const bin = this.binCentre();
    const [l, r] = this.fingers.touching(this.cubeGeom);
    const inside =
      Math.abs(cube[0] - bin[0]) < BIN_INNER &&
      Math.abs(cube[1] - bin[1]) < BIN_INNER &&
      cube[2] < BIN_HEIGHT;
    return {
      goal: inside && !l && !r,
      graspTarget: cube,
      grasped: l && r,
      objectDisplacement: planar(cube, this.start),
    };
  }

  plan(rng: Rng, aimNoise: number): Waypoint[] {
    const cube = freePos(this.sim, this.cubeJoint);
    const yaw = squareYaw(quatYaw(freeQuat(this.sim, this.cubeJoint)));
    const bin = this.binCentre();
    const n = () => (aimNoise > 0 ? rng.normal(0, aimNoise) : 0);
    const cx = cube[0] + n();
    const cy = cube[1] + n();
    const bx = bin[0] + n();
    const by = bin[1] + n();
    return [
      { pos: [cx, cy, 0.075], yaw, grip: 0 },
      { pos: [cx, cy, 0.019], yaw, grip: 0, speed: 0.025, hold: 1 },
      { pos: [cx, cy, 0.019], yaw, grip: 1, hold: 4 },
      { pos: [cx, cy, 0.09], yaw, grip: 1 },
      { pos: [bx, by, 0.09], yaw: 0, grip: 1, hold: 1 },
      { pos: [bx, by, 0.09], yaw: 0, grip: 0, hold: 2 },
      { pos: [bx, by, 0.13], yaw: 0, grip: 0 },
    ];
  }
}

export const pickCube: TaskDefinition = {
  id: 'pick_cube',
  instruction: 'pick up the cube and place it into the box',
  maxSteps: 80,
  holdSteps: 3,
  scene,
  bind: (sim) => new PickCube(sim),
};
