/**
 * The only module that touches `mujoco-js` (pinned 0.0.7). Everything else in the package goes through
 * the typed accessors below, so a binding change (or a move to the newer `mujoco` package) is one file.
 *
 * Rules this module enforces (see shared/research/mujoco-wasm-sim.md §5):
 * - views onto the WASM heap are fetched per call, never cached (they go stale when the heap grows);
 * - out-parameters are WASM `DoubleBuffer`s owned here and freed in `dispose()`;
 * - every `MjModel`/`MjData` handle is `.delete()`d exactly once; `liveHandles()` counts them for tests.
 */
import loadMujocoModule from 'mujoco-js';

// The shipped .d.ts types every array field as `any`; inside this file we keep the raw surface loose.
// biome-ignore lint/suspicious/noExplicitAny: raw embind surface, wrapped in typed accessors below
type Raw = any;

let modulePromise: Promise<Raw> | undefined;
let live = 0;
let sceneCounter = 0;

/** Instantiates the WASM module once per thread (≈190 ms); later calls share it. */
export function loadMujoco(): Promise<Raw> {
  modulePromise ??= loadMujocoModule() as Promise<Raw>;
  return modulePromise;
}

/** Number of model/data/buffer handles created by this module and not yet deleted (leak checks). */
export function liveHandles(): number {
  return live;
}

export const GeomType = {
  plane: 0,
  hfield: 1,
  sphere: 2,
  capsule: 3,
  ellipsoid: 4,
  cylinder: 5,
  box: 6,
  mesh: 7,
} as const;

export type ObjectKind = 'body' | 'joint' | 'geom' | 'site' | 'camera' | 'actuator' | 'equality';

const OBJ_FIELD: Record<ObjectKind, string> = {
  body: 'mjOBJ_BODY',
  joint: 'mjOBJ_JOINT',
  geom: 'mjOBJ_GEOM',
  site: 'mjOBJ_SITE',
  camera: 'mjOBJ_CAMERA',
  actuator: 'mjOBJ_ACTUATOR',
  equality: 'mjOBJ_EQUALITY',
};

export interface Contact {
  geom1: number;
  geom2: number;
  dist: number;
}

/**
 * A compiled model plus its simulation state (one long-lived `MjData`) and a scratch `MjData` for
 * kinematics queries (IK) that never disturbs the simulated state.
 */
export class Sim {
  private readonly mj: Raw;
  private readonly model: Raw;
  private readonly data: Raw;
  private readonly scratch: Raw;
  private readonly jacp: Raw;
  private readonly jacr: Raw;
  private disposed = false;
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  readonly ngeom: number;
  readonly nbody: number;

  private constructor(mj: Raw, model: Raw) {
    this.mj = mj;
    this.model = model;
    this.data = new mj.MjData(model);
    this.scratch = new mj.MjData(model);
    this.nq = model.nq;
    this.nv = model.nv;
    this.nu = model.nu;
    this.ngeom = model.ngeom;
    this.nbody = model.nbody;
    this.jacp = new mj.DoubleBuffer(3 * this.nv);
    this.jacr = new mj.DoubleBuffer(3 * this.nv);
    live += 5; // model, data, scratch, jacp, jacr
  }

  /**
   * Compiles MJCF text. mujoco-js 0.0.7 loads only from its in-memory FS, returns `null` on XML syntax
   * errors and throws a bare `CppException` on semantic errors; both become an Error naming the scene.
   */
  static async fromXml(xml: string, name: string): Promise<Sim> {
    const mj = await loadMujoco();
    sceneCounter += 1;
    const path = `/sim-scene-${sceneCounter}.xml`;
    mj.FS.writeFile(path, xml);
    let model: Raw;
    try {
      model = mj.MjModel.loadFromXML(path);
    } catch (e) {
      throw new Error(`MJCF for scene "${name}" failed to compile (${String(e)}); bisect the generated XML`);
    } finally {
      mj.FS.unlink(path);
    }
    if (model === null || model === undefined) {
      throw new Error(`MJCF for scene "${name}" failed to parse (see the console for the parser message)`);
    }
    return new Sim(mj, model);
  }

  private check(): void {
    if (this.disposed) throw new Error('Sim used after dispose()');
  }

  id(kind: ObjectKind, name: string): number {
    const id = this.mj.mj_name2id(this.model, this.mj.mjtObj[OBJ_FIELD[kind]].value, name) as number;
    if (id < 0) throw new Error(`no ${kind} named "${name}" in the model`);
    return id;
  }

  // ---- model fields (views are fresh per call) ----
  get timestep(): number {
    return this.model.opt.timestep as number;
  }
  jointQposAdr(joint: number): number {
    return (this.model.jnt_qposadr as Int32Array)[joint];
  }
  jointDofAdr(joint: number): number {
    return (this.model.jnt_dofadr as Int32Array)[joint];
  }
  jointRange(joint: number): [number, number] {
    const r = this.model.jnt_range as Float64Array;
    return [r[2 * joint], r[2 * joint + 1]];
  }
  geomType(): Int32Array {
    return this.model.geom_type as Int32Array;
  }
  geomSize(): Float64Array {
    return this.model.geom_size as Float64Array;
  }
  geomRbound(): Float64Array {
    return this.model.geom_rbound as Float64Array;
  }
  /** Writable view; colours can be randomized per episode. */
  geomRgba(): Float32Array {
    return this.model.geom_rgba as Float32Array;
  }
  geomBody(): Int32Array {
    return this.model.geom_bodyid as Int32Array;
  }
  geomGroup(): Int32Array {
    return this.model.geom_group as Int32Array;
  }
  /** Writable view; static bodies are re-posed per episode through it (then `forward()`). */
  bodyPos(): Float64Array {
    return this.model.body_pos as Float64Array;
  }
  bodyQuat(): Float64Array {
    return this.model.body_quat as Float64Array;
  }
  camFovy(): Float64Array {
    return this.model.cam_fovy as Float64Array;
  }

  // ---- data fields ----
  get time(): number {
    return this.data.time as number;
  }
  qpos(): Float64Array {
    return this.data.qpos as Float64Array;
  }
  qvel(): Float64Array {
    return this.data.qvel as Float64Array;
  }
  ctrl(): Float64Array {
    return this.data.ctrl as Float64Array;
  }
  geomXpos(): Float64Array {
    return this.data.geom_xpos as Float64Array;
  }
  geomXmat(): Float64Array {
    return this.data.geom_xmat as Float64Array;
  }
  siteXpos(): Float64Array {
    return this.data.site_xpos as Float64Array;
  }
  siteXmat(): Float64Array {
    return this.data.site_xmat as Float64Array;
  }
  bodyXpos(): Float64Array {
    return this.data.xpos as Float64Array;
  }
  bodyXquat(): Float64Array {
    return this.data.xquat as Float64Array;
  }
  camXpos(): Float64Array {
    return this.data.cam_xpos as Float64Array;
  }
  camXmat(): Float64Array {
    return this.data.cam_xmat as Float64Array;
  }

  /** Active contacts (geom ids); each embind element handle is freed after reading. */
  contacts(): Contact[] {
    this.check();
    const n = this.data.ncon as number;
    if (n === 0) return [];
    const vec = this.data.contact;
    const out: Contact[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const c = vec.get(i);
        out.push({ geom1: c.geom1 as number, geom2: c.geom2 as number, dist: c.dist as number });
        c.delete?.();
      }
    } finally {
      vec.delete?.();
    }
    return out;
  }

  /** Current size of the WASM heap (bytes); it only grows, so a stable value across cycles means no leak. */
  heapBytes(): number {
    return (this.data.qpos as Float64Array).buffer.byteLength;
  }

  // ---- dynamics ----
  reset(): void {
    this.check();
    this.mj.mj_resetData(this.model, this.data);
  }
  forward(): void {
    this.check();
    this.mj.mj_forward(this.model, this.data);
  }
  step(n = 1): void {
    this.check();
    for (let i = 0; i < n; i++) this.mj.mj_step(this.model, this.data);
  }

  /** Full physics state (time, qpos, qvel, act, warm-start, ...) as a copy, for determinism checks. */
  stateSnapshot(): Float64Array {
    this.check();
    const spec = this.mj.mjtState.mjSTATE_FULLPHYSICS.value as number;
    const size = this.mj.mj_stateSize(this.model, spec) as number;
    const buf = new this.mj.DoubleBuffer(size);
    try {
      this.mj.mj_getState(this.model, this.data, buf, spec);
      return Float64Array.from(buf.GetView() as Float64Array);
    } finally {
      buf.delete();
    }
  }

  /**
   * Forward kinematics of `qpos` on the scratch data, then the site pose and its 3×nv translational and
   * rotational Jacobians (row-major) copied into `out`. The simulated state is untouched.
   */
  siteKinematics(
    qpos: Float64Array,
    site: number,
    out: { pos: Float64Array; mat: Float64Array; jacp: Float64Array; jacr: Float64Array },
  ): void {
    this.check();
    const sq = this.scratch.qpos as Float64Array;
    sq.set(qpos);
    this.mj.mj_kinematics(this.model, this.scratch);
    this.mj.mj_comPos(this.model, this.scratch);
    this.mj.mj_jacSite(this.model, this.scratch, this.jacp, this.jacr, site);
    const sp = this.scratch.site_xpos as Float64Array;
    const sm = this.scratch.site_xmat as Float64Array;
    for (let k = 0; k < 3; k++) out.pos[k] = sp[3 * site + k];
    for (let k = 0; k < 9; k++) out.mat[k] = sm[9 * site + k];
    out.jacp.set(this.jacp.GetView() as Float64Array);
    out.jacr.set(this.jacr.GetView() as Float64Array);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.jacp.delete();
    this.jacr.delete();
    this.scratch.delete();
    this.data.delete();
    this.model.delete();
    live -= 5;
  }
}
