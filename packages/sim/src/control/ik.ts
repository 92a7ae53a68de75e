import type { Sim } from '../mujoco/adapter.js';

/** Settings of the damped-least-squares IK (values from the feasibility study, §2). */
export interface IkConfig {
  /** Damping λ of (JᵀJ + λ²I); 0.05 keeps steps bounded near singularities without slowing convergence. */
  damping: number;
  /** Weight of the rotation error against the position error (metres vs radians); 0.25 ≈ 4 cm per rad. */
  rotationWeight: number;
  maxIterations: number;
  /** Stop when the weighted error norm is below this (0.1 mm). */
  tolerance: number;
}

export const DEFAULT_IK: IkConfig = {
  damping: 0.05,
  rotationWeight: 0.25,
  maxIterations: 30,
  tolerance: 1e-4,
};

export interface IkResult {
  /** Joint values of the 5 arm joints. */
  q: Float64Array;
  /** Final position error (m) and rotation error norm (rad-ish) of the solution. */
  positionError: number;
  rotationError: number;
}

/**
 * Damped-least-squares IK on `mj_jacSite` for the 5 arm joints: minimises the site position error plus
 * `rotationWeight` × the orientation error ½Σ rᵢ × rᵢ* (columns of the current and target frames).
 * Runs on the Sim's scratch data; joint limits are enforced by clamping after every step.
 */
export class DlsIk {
  private readonly qposAdr: number[];
  private readonly dofAdr: number[];
  private readonly lo: number[];
  private readonly hi: number[];
  private readonly qfull: Float64Array;
  private readonly kin: { pos: Float64Array; mat: Float64Array; jacp: Float64Array; jacr: Float64Array };

  constructor(
    private readonly sim: Sim,
    jointIds: readonly number[],
    private readonly site: number,
    private readonly config: IkConfig = DEFAULT_IK,
  ) {
    this.qposAdr = jointIds.map((j) => sim.jointQposAdr(j));
    this.dofAdr = jointIds.map((j) => sim.jointDofAdr(j));
    const ranges = jointIds.map((j) => sim.jointRange(j));
    this.lo = ranges.map((r) => r[0]);
    this.hi = ranges.map((r) => r[1]);
    this.qfull = new Float64Array(sim.nq);
    this.kin = {
      pos: new Float64Array(3),
      mat: new Float64Array(9),
      jacp: new Float64Array(3 * sim.nv),
      jacr: new Float64Array(3 * sim.nv),
    };
  }

  /**
   * Solves for the site at `pos` with orientation `mat` (row-major, columns = frame axes), starting
   * from `qposSeed` (full qpos; only the arm joints are changed).
   */
  solve(qposSeed: ArrayLike<number>, pos: ArrayLike<number>, mat: ArrayLike<number>): IkResult {
    const { damping, rotationWeight: w, maxIterations, tolerance } = this.config;
    const n = this.qposAdr.length;
    const q = this.qfull;
    for (let i = 0; i < q.length; i++) q[i] = qposSeed[i];
    const e = new Float64Array(6);
    const J = new Float64Array(6 * n);
    const A = new Float64Array(n * n);
    const b = new Float64Array(n);
    let posErr = Number.POSITIVE_INFINITY;
    let rotErr = Number.POSITIVE_INFINITY;
    for (let it = 0; it <= maxIterations; it++) {
      this.sim.siteKinematics(q, this.site, this.kin);
      const { pos: p, mat: m, jacp, jacr } = this.kin;
      e[0] = pos[0] - p[0];
      e[1] = pos[1] - p[1];
      e[2] = pos[2] - p[2];
      // ½ Σ_i (current column i) × (target column i)
      let rx = 0;
      let ry = 0;
      let rz = 0;
      for (let c = 0; c < 3; c++) {
        const ax = m[c];
        const ay = m[3 + c];
        const az = m[6 + c];
        const bx = mat[c];
        const by = mat[3 + c];
        const bz = mat[6 + c];
        rx += ay * bz - az * by;
        ry += az * bx - ax * bz;
        rz += ax * by - ay * bx;
      }
      e[3] = 0.5 * rx * w;
      e[4] = 0.5 * ry * w;
      e[5] = 0.5 * rz * w;
      posErr = Math.hypot(e[0], e[1], e[2]);
      rotErr = Math.hypot(e[3], e[4], e[5]) / w;
      if (Math.hypot(posErr, rotErr * w) < tolerance || it === maxIterations) break;
      const nv = this.sim.nv;
      for (let r = 0; r < 3; r++)
        for (let k = 0; k < n; k++) {
          J[r * n + k] = jacp[r * nv + this.dofAdr[k]];
          J[(r + 3) * n + k] = w * jacr[r * nv + this.dofAdr[k]];
        }
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let r = 0; r < 6; r++) s += J[r * n + i] * e[r];
        b[i] = s;
        for (let j = 0; j < n; j++) {
          let a = 0;
          for (let r = 0; r < 6; r++) a += J[r * n + i] * J[r * n + j];
          A[i * n + j] = a + (i === j ? damping * damping : 0);
        }
      }
      const dq = solveSpd(A, b, n);
      for (let k = 0; k < n; k++) {
        const a = this.qposAdr[k];
        q[a] = Math.min(this.hi[k], Math.max(this.lo[k], q[a] + dq[k]));
      }
    }
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = q[this.qposAdr[k]];
    return { q: out, positionError: posErr, rotationError: rotErr };
  }

  /** Site pose (position, row-major rotation) for a full qpos, via the scratch data. */
  forward(qpos: ArrayLike<number>): { pos: Float64Array; mat: Float64Array } {
    for (let i = 0; i < this.qfull.length; i++) this.qfull[i] = qpos[i];
    this.sim.siteKinematics(this.qfull, this.site, this.kin);
    return { pos: Float64Array.from(this.kin.pos), mat: Float64Array.from(this.kin.mat) };
  }
}

/** Solves the small symmetric positive-definite system A x = b by Cholesky (A is overwritten). */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    const ljj = Math.sqrt(Math.max(d, 1e-12));
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= A[i * n + k] * y[k];
    y[i] = s / A[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= A[k * n + i] * x[k];
    x[i] = s / A[i * n + i];
  }
  return x;
}
