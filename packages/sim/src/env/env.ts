import { DEFAULT_IK, DlsIk } from '../control/ik.js';
import { Rng } from '../math/rng.js';
import { matMul, matToQuat, normalize, rotvecToMat, topDown, type Vec3 } from '../math/vec.js';
import { Sim } from '../mujoco/adapter.js';
import { RayCaster, type RenderSettings } from '../render/raycaster.js';
import {
  ARM_JOINTS,
  FINGER_OPEN,
  FINGER_SQUEEZE,
  FRONT_CAMERA,
  GRIP_SITE,
  sceneXml,
  WRIST_CAMERA,
} from '../scene/arm.js';
import { getTask } from '../tasks/registry.js';
import type { TaskDefinition, TaskInstance, Waypoint } from '../tasks/types.js';
import { EpisodeMonitor, type EpisodeSummary } from './monitor.js';
import { type EnvOptions, type EnvOptionsInput, resolveEnvOptions } from './options.js';
import { ACTION_DIM, type Image, type Observation, type StepResult, type TaskId } from './types.js';

/** Grip-site pose the arm starts from: above the workspace centre, gripper pointing down. */
export const HOME_POS: Vec3 = [0.14, 0.0, 0.13];
/** IK seed that selects the elbow-up branch for the home pose. */
const HOME_SEED = [0, -0.2, 0.6, 1.2, 0];
const DEFAULT_LIGHT: [number, number, number] = normalize([0.35, 0.45, 1]) as [number, number, number];

/**
 * Closed-loop environment: one compiled scene per Env (one MjData + one scratch MjData), 10 Hz control
 * with physics substeps, two CPU-rendered cameras. Call close() when done (frees the WASM handles).
 */
export class Env {
  readonly taskId: TaskId;
  readonly instruction: string;
  readonly options: EnvOptions;
  readonly maxSteps: number;
  readonly actionDim: number;
  private readonly task: TaskDefinition;
  private readonly instance: TaskInstance;
  private readonly ik: DlsIk;
  private readonly renderer: RayCaster;
  private readonly armQposAdr: number[];
  private readonly armLo: number[];
  private readonly armHi: number[];
  private readonly fingerAdr: number;
  private readonly site: number;
  private readonly frontCam: number;
  private readonly wristCam: number;
  private readonly substeps: number;
  private readonly home: Float64Array;
  private readonly monitor = new EpisodeMonitor();
  private rng = new Rng(0);
  private seed: number | null = null;
  private stepCount = 0;
  private goalStreak = 0;
  private succeeded = false;
  private lastArmTarget = new Float64Array(5);
  private frontSettings: RenderSettings;
  private wristSettings: RenderSettings;

  private constructor(
    private readonly sim: Sim,
    task: TaskDefinition,
    options: EnvOptions,
  ) {
    this.task = task;
    this.taskId = task.id;
    this.instruction = task.instruction;
    this.options = options;
    this.maxSteps = options.maxSteps ?? task.maxSteps;
    this.actionDim = ACTION_DIM[options.actionSpace];
    this.instance = task.bind(sim);
    const armIds = ARM_JOINTS.map((j) => sim.id('joint', j));
    this.armQposAdr = armIds.map((j) => sim.jointQposAdr(j));
    this.armLo = armIds.map((j) => sim.jointRange(j)[0]);
    this.armHi = armIds.map((j) => sim.jointRange(j)[1]);
    this.fingerAdr = sim.jointQposAdr(sim.id('joint', 'finger_left'));
    this.site = sim.id('site', GRIP_SITE);
    this.frontCam = sim.id('camera', FRONT_CAMERA);
    this.wristCam = sim.id('camera', WRIST_CAMERA);
    this.ik = new DlsIk(sim, armIds, this.site, { ...DEFAULT_IK, maxIterations: 100 });
    this.renderer = new RayCaster(sim);
    this.substeps = Math.max(1, Math.round(1 / (options.controlHz * sim.timestep)));
    const seed = new Float64Array(sim.nq);
    HOME_SEED.forEach((v, k) => {
      seed[this.armQposAdr[k]] = v;
    });
    const sol = this.ik.solve(seed, HOME_POS, topDown(0));
    if (sol.positionError > 1e-3) throw new Error(`home pose IK did not converge (${sol.positionError} m)`);
    this.home = sol.q;
    const base: RenderSettings = {
      width: options.imageWidth,
      height: options.imageHeight,
      lightDir: DEFAULT_LIGHT,
      cameraOffset: [0, 0, 0],
      cameraYaw: 0,
      cameraPitch: 0,
      shadows: options.shadows,
    };
    this.frontSettings = base;
    this.wristSettings = base;
  }

  static async create(task: TaskId, options: EnvOptionsInput = {}): Promise<Env> {
    const def = getTask(task);
    const resolved = resolveEnvOptions(options);
    const sim = await Sim.fromXml(sceneXml(task, def.scene(), resolved.physicsTimestep), task);
    try {
      return new Env(sim, def, resolved);
    } catch (e) {
      sim.dispose();
      throw e;
    }
  }

  /** Starts an episode; everything random (objects, colours, light, camera, start pose) follows `seed`. */
  reset(seed: number): Observation {
    if (!Number.isSafeInteger(seed)) throw new Error(`reset(seed): seed must be a safe integer, got ${seed}`);
    this.seed = seed;
    this.rng = new Rng(`${this.taskId}:${seed}`);
    const r = this.options.randomize;
    this.sim.reset();
    this.instance.randomize(this.rng, r);
    const qpos = this.sim.qpos();
    const ctrl = this.sim.ctrl();
    for (let k = 0; k < 5; k++) {
      const q = this.home[k] + (r.initialJoints > 0 ? this.rng.normal(0, r.initialJoints) : 0);
      qpos[this.armQposAdr[k]] = q;
      ctrl[k] = q;
      this.lastArmTarget[k] = q;
    }
    qpos[this.fingerAdr] = FINGER_OPEN;
    qpos[this.fingerAdr + 1] = FINGER_OPEN;
    ctrl[5] = FINGER_OPEN;
    this.sim.forward();
    this.frontSettings = {
      ...this.frontSettings,
      lightDir: r.light ? this.randomLight() : DEFAULT_LIGHT,
      cameraOffset:
        r.cameraPosition > 0
          ? [
              this.rng.normal(0, r.cameraPosition),
              this.rng.normal(0, r.cameraPosition),
              this.rng.normal(0, r.cameraPosition),
            ]
          : [0, 0, 0],
      cameraYaw: r.cameraAngle > 0 ? this.rng.normal(0, r.cameraAngle) : 0,
      cameraPitch: r.cameraAngle > 0 ? this.rng.normal(0, r.cameraAngle) : 0,
    };
    this.wristSettings = { ...this.wristSettings, lightDir: this.frontSettings.lightDir };
    this.stepCount = 0;
    this.goalStreak = 0;
    this.succeeded = false;
    this.monitor.reset();
    return this.observe();
  }

  private randomLight(): [number, number, number] {
    const az = this.rng.uniform(-Math.PI, Math.PI);
    const el = this.rng.uniform((40 * Math.PI) / 180, (80 * Math.PI) / 180);
    return [Math.cos(el) * Math.cos(az), Math.cos(el) * Math.sin(az), Math.sin(el)];
  }

  /** Applies one action for 1/controlHz seconds of physics. */
  step(action: ArrayLike<number>): StepResult {
    if (this.seed === null) throw new Error('step() called before reset(seed)');
    if (this.stepCount >= this.maxSteps || this.succeeded)
      throw new Error(`step() called on a finished episode (step ${this.stepCount}); call reset(seed)`);
    const { arm, grip } = this.decodeAction(action);
    const ctrl = this.sim.ctrl();
    for (let k = 0; k < 5; k++) {
      const q = Math.min(this.armHi[k], Math.max(this.armLo[k], arm[k]));
      ctrl[k] = q;
      this.lastArmTarget[k] = q;
    }
    ctrl[5] = FINGER_OPEN * (1 - grip) + FINGER_SQUEEZE * grip;
    this.sim.step(this.substeps);
    this.stepCount += 1;
    const status = this.instance.status();
    this.goalStreak = status.goal ? this.goalStreak + 1 : 0;
    this.succeeded = this.goalStreak >= this.task.holdSteps;
    this.monitor.record(this.stepCount, grip, this.sitePos(), status, this.succeeded);
    return {
      observation: this.observe(),
      success: this.succeeded,
      done: this.succeeded || this.stepCount >= this.maxSteps,
      step: this.stepCount,
    };
  }

  private decodeAction(action: ArrayLike<number>): { arm: ArrayLike<number>; grip: number } {
    const space = this.options.actionSpace;
    if (!action || typeof action.length !== 'number')
      throw new Error(`action must be an array of ${this.actionDim} numbers (${space})`);
    if (action.length !== this.actionDim)
      throw new Error(
        `action has length ${action.length}; the ${space} action space needs ${this.actionDim}`,
      );
    for (let i = 0; i < action.length; i++)
      if (!Number.isFinite(action[i]))
        throw new Error(`action[${i}] is ${action[i]} (${space} action must be finite)`);
    // The gripper target is clamped to [0, 1] (policies may overshoot slightly; the gripper saturates anyway).
    const grip = Math.min(1, Math.max(0, action[this.actionDim - 1]));
    if (space === 'joint') return { arm: action, grip };
    let pos: number[];
    let mat: number[];
    if (space === 'ee_absolute') {
      pos = [action[0], action[1], action[2]];
      mat = rotvecToMat([action[3], action[4], action[5]]);
    } else {
      const cur = this.sitePos();
      const curMat = Array.from(this.sim.siteXmat().subarray(9 * this.site, 9 * this.site + 9));
      pos = [cur[0] + action[0], cur[1] + action[1], cur[2] + action[2]];
      mat = matMul(rotvecToMat([action[3], action[4], action[5]]), curMat);
    }
    return { arm: this.solveIk(pos, mat), grip };
  }

  /** IK to joint targets, warm-started from the last arm target. */
  solveIk(pos: ArrayLike<number>, mat: ArrayLike<number>): Float64Array {
    const seed = Float64Array.from(this.sim.qpos());
    for (let k = 0; k < 5; k++) seed[this.armQposAdr[k]] = this.lastArmTarget[k];
    return this.ik.solve(seed, pos, mat).q;
  }

  /** The action (in this env's action space) that drives the gripper to a top-down pose with `yaw`. */
  topDownAction(pos: Vec3, yaw: number, grip: number): Float32Array {
    const mat = topDown(yaw);
    const space = this.options.actionSpace;
    if (space === 'joint') {
      const q = this.solveIk(pos, mat);
      return Float32Array.from([...q, grip]);
    }
    if (space === 'ee_absolute') {
      const [w, x, y, z] = matToQuat(mat);
      const s = Math.hypot(x, y, z);
      const angle = 2 * Math.atan2(s, w);
      const rv = s < 1e-12 ? [0, 0, 0] : [(x / s) * angle, (y / s) * angle, (z / s) * angle];
      return Float32Array.from([...pos, ...rv, grip]);
    }
    const cur = this.sitePos();
    const curMat = Array.from(this.sim.siteXmat().subarray(9 * this.site, 9 * this.site + 9));
    // R_delta = R_target · R_currentᵀ
    const curT = [
      curMat[0],
      curMat[3],
      curMat[6],
      curMat[1],
      curMat[4],
      curMat[7],
      curMat[2],
      curMat[5],
      curMat[8],
    ];
    const d = matMul(mat, curT);
    const [w, x, y, z] = matToQuat(d);
    const s = Math.hypot(x, y, z);
    const angle = 2 * Math.atan2(s, w);
    const rv = s < 1e-12 ? [0, 0, 0] : [(x / s) * angle, (y / s) * angle, (z / s) * angle];
    return Float32Array.from([pos[0] - cur[0], pos[1] - cur[1], pos[2] - cur[2], ...rv, grip]);
  }

  /** The scripted expert's waypoints for the current episode (true state; call right after reset). */
  expertPlan(aimNoise = 0): Waypoint[] {
    if (this.seed === null) throw new Error('expertPlan() called before reset(seed)');
    // A separate stream so expert noise never shifts the env's own random draws.
    return this.instance.plan(new Rng(`expert:${this.taskId}:${this.seed}`), aimNoise);
  }

  sitePos(): Vec3 {
    const p = this.sim.siteXpos();
    return [p[3 * this.site], p[3 * this.site + 1], p[3 * this.site + 2]];
  }

  /**
   * The gripper's yaw about world z, read as the `yaw` of `topDownAction`: for the top-down pose
   * rotZ(ψ)·rotY(π/2) the site's y axis is (−sin ψ, cos ψ, 0), so ψ = atan2(−R₀₁, R₁₁) (row-major R).
   */
  siteYaw(): number {
    const m = this.sim.siteXmat().subarray(9 * this.site, 9 * this.site + 9);
    return Math.atan2(-m[1], m[4]);
  }

  get steps(): number {
    return this.stepCount;
  }
  get currentSeed(): number | null {
    return this.seed;
  }
  /** Facts about the episode so far, for failure classification. */
  episodeSummary(): EpisodeSummary {
    return this.monitor.summary();
  }
  /** Full physics state copy (determinism checks). */
  physicsState(): Float64Array {
    return this.sim.stateSnapshot();
  }

  observe(): Observation {
    const qpos = this.sim.qpos();
    const jointState = new Float32Array(6);
    for (let k = 0; k < 5; k++) jointState[k] = qpos[this.armQposAdr[k]];
    jointState[5] = Math.min(1, Math.max(0, 1 - qpos[this.fingerAdr] / FINGER_OPEN));
    const p = this.sitePos();
    const q = matToQuat(this.sim.siteXmat().subarray(9 * this.site, 9 * this.site + 9));
    const eePose = Float32Array.from([...p, ...q]);
    return {
      images: {
        front: this.renderCamera(this.frontCam, this.frontSettings),
        wrist: this.renderCamera(this.wristCam, this.wristSettings),
      },
      jointState,
      eePose,
      task: this.instruction,
    };
  }

  private renderCamera(cam: number, s: RenderSettings): Image {
    if (!this.options.render) return { data: new Uint8Array(0), height: 0, width: 0 };
    return { data: this.renderer.render(cam, s), height: s.height, width: s.width };
  }

  /** WASM heap size in bytes (leak checks). */
  heapBytes(): number {
    return this.sim.heapBytes();
  }

  close(): void {
    this.sim.dispose();
  }
}

export function makeEnv(task: TaskId, options: EnvOptionsInput = {}): Promise<Env> {
  return Env.create(task, options);
}
