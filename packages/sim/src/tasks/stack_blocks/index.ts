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
  setFreePose,
  squareYaw,
} from '../common.js';
import type { RandomizationOptions, TaskDefinition, TaskInstance, TaskStatus, Waypoint } from '../types.js';

/** Blue block: 3 cm; yellow base block: 4 cm (half sizes). */
const BLUE = 0.015;
const YELLOW = 0.02;
/** Stacked means the blue centre is within 1.2 cm (xy) of the yellow centre and resting on its top. */
const XY_TOLERANCE = 0.012;
const Z_TOLERANCE = 0.005;
const BLUE_X: [number, number] = [0.12, 0.2];
const BLUE_Y: [number, number] = [0.01, 0.1];
const YELLOW_X: [number, number] = [0.13, 0.2];
const YELLOW_Y: [number, number] = [-0.11, -0.03];
const YAW = Math.PI / 4;

function scene() {
  return {
    worldbody: `
    <body name="yellow" pos="0.16 -0.07 ${YELLOW}">
      <freejoint name="yellow"/>
      <geom name="yellow" type="box" size="${nums(YELLOW, YELLOW, YELLOW)}" mass="0.08" friction="1.2 0.005 0.0001" condim="4" rgba="0.95 0.8 0.1 1"/>
    </body>
    <body name="blue" pos="0.16 0.05 ${BLUE}">
      <freejoint name="blue"/>
      <geom name="blue" type="box" size="${nums(BLUE, BLUE, BLUE)}" mass="0.03" friction="1.5 0.005 0.0001" condim="4" rgba="0.1 0.3 0.9 1"/>
    </body>`,
  };
}

class StackBlocks implements TaskInstance {
  private readonly defaults: ModelDefaults;
  private readonly blueJoint: number;
  private readonly yellowJoint: number;
  private readonly blueGeom: number[];
  private readonly colorGeoms: number[];
  private readonly fingers: FingerContacts;
  private start: Vec3 = [0, 0, 0];

  constructor(private readonly sim: Sim) {
    this.defaults = new ModelDefaults(sim);
    this.blueJoint = sim.id('joint', 'blue');
    this.yellowJoint = sim.id('joint', 'yellow');
    this.blueGeom = geomIds(sim, ['blue']);
    this.colorGeoms = geomIds(sim, ['blue', 'yellow', 'table']);
    this.fingers = new FingerContacts(sim);
  }

  randomize(rng: Rng, o: RandomizationOptions): void {
    this.defaults.restore();
    let blue: Vec3 = [0.16, 0.05, BLUE];
    let yellow: Vec3 = [0.16, -0.07, YELLOW];
    let by = 0;
    let yy = 0;
    if (o.objectPoses) {
      blue = [rng.uniform(...BLUE_X), rng.uniform(...BLUE_Y), BLUE];
      yellow = [rng.uniform(...YELLOW_X), rng.uniform(...YELLOW_Y), YELLOW];
      by = rng.uniform(-YAW, YAW);
      yy = rng.uniform(-YAW, YAW);
    }
    setFreePose(this.sim, this.blueJoint, blue, by);
    setFreePose(this.sim, this.yellowJoint, yellow, yy);
    if (o.colors) jitterColors(this.sim, this.colorGeoms, rng, 0.1);
    this.start = blue;
  }

  status(): TaskStatus {
    const blue = freePos(this.sim, this.blueJoint);
    const yellow = freePos(this.sim, this.yellowJoint);
    const [l, r] = this.fingers.touching(this.blueGeom);
    const stacked =
      planar(blue, yellow) < XY_TOLERANCE &&
      Math.abs(blue[2] - (yellow[2] + YELLOW + BLUE)) < Z_TOLERANCE &&
      Math.abs(yellow[2] - YELLOW) < Z_TOLERANCE;
    return {
      goal: stacked && !l && !r,
      graspTarget: blue,
      grasped: l && r,
      objectDisplacement: planar(blue, this.start),
    };
  }

  plan(rng: Rng, aimNoise: number): Waypoint[] {
    const blue = freePos(this.sim, this.blueJoint);
    const yellow = freePos(this.sim, this.yellowJoint);
    const yaw = squareYaw(quatYaw(freeQuat(this.sim, this.blueJoint)));
    const yawY = squareYaw(quatYaw(freeQuat(this.sim, this.yellowJoint)));
    const n = () => (aimNoise > 0 ? rng.normal(0, aimNoise) : 0);
    const bx = blue[0] + n();
    const by = blue[1] + n();
    const yx = yellow[0] + n();
    const yyy = yellow[1] + n();
    // Release height: blue bottom 5 mm above the yellow top (the site sits ≈2 mm above the blue centre).
    const place = 2 * YELLOW + BLUE + 0.008;
    return [
      { pos: [bx, by, 0.075], yaw, grip: 0 },
      { pos: [bx, by, 0.019], yaw, grip: 0, speed: 0.025, hold: 1 },
      { pos: [bx, by, 0.019], yaw, grip: 1, hold: 4 },
      { pos: [bx, by, 0.1], yaw, grip: 1 },
      { pos: [yx, yyy, 0.1], yaw: yawY, grip: 1 },
      { pos: [yx, yyy, place], yaw: yawY, grip: 1, speed: 0.015, hold: 2 },
      { pos: [yx, yyy, place], yaw: yawY, grip: 0, hold: 2 },
      { pos: [yx, yyy, 0.13], yaw: yawY, grip: 0, speed: 0.02 },
    ];
  }
}

export const stackBlocks: TaskDefinition = {
  id: 'stack_blocks',
  instruction: 'stack the blue block on top of the yellow block',
  // Expert ≈ 40 steps to release + 50 steps (5 s) of stable stacking.
  maxSteps: 120,
  holdSteps: 50,
  scene,
  bind: (sim) => new StackBlocks(sim),
};
