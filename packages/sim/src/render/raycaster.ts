import { GeomType, type Sim } from '../mujoco/adapter.js';

// Plain numeric constants so the hot switch statements compile to jump tables.
const T_PLANE = GeomType.plane;
const T_HFIELD = GeomType.hfield;
const T_SPHERE = GeomType.sphere;
const T_CAPSULE = GeomType.capsule;
const T_ELLIPSOID = GeomType.ellipsoid;
const T_CYLINDER = GeomType.cylinder;
const T_BOX = GeomType.box;
const T_MESH = GeomType.mesh;

/** Lighting and camera perturbation for one frame (per-episode domain randomization lives here). */
export interface RenderSettings {
  width: number;
  height: number;
  /** Unit vector pointing from the scene towards the directional light. */
  lightDir: [number, number, number];
  /** Added to the camera position (m). */
  cameraOffset: [number, number, number];
  /** Small rotation of the camera view (rad): yaw about the camera up axis, pitch about its right axis. */
  cameraYaw: number;
  cameraPitch: number;
  shadows: boolean;
}

const AMBIENT = 0.35;
const DIFFUSE = 0.6;
const HEADLIGHT = 0.15;
const BACKGROUND = [46, 52, 64];
const EPS = 1e-4;
/** Near-plane distance (m) for clipping bounding boxes. */
const NEAR = 1e-3;
const EDGE_BITS = [1, 2, 4] as const;
/** Cells per side of the light-space shadow grid. */
const GRID = 24;

/**
 * Analytic CPU ray caster for primitive geoms (plane, sphere, capsule, ellipsoid, cylinder, box) with
 * Lambert shading, a weak headlight and hard shadows from one directional light. Per geom, only the
 * pixels inside its projected bounding-sphere rectangle are tested (a z-buffer over ray hits), then one
 * shading pass computes normals and shadow rays for the nearest hit of each pixel. Meshes and height
 * fields are not drawn (the scenes contain none).
 */
export class RayCaster {
  private depth = new Float64Array(0);
  private rays = new Float64Array(0);
  private hitGeom = new Int32Array(0);
  // Per-frame geom table (world pose, sizes, colour), rebuilt in render().
  private gpos = new Float64Array(0);
  private gmat = new Float64Array(0);
  private gsize = new Float64Array(0);
  private gtype = new Int32Array(0);
  private grad = new Float64Array(0);
  private grgb = new Float64Array(0);
  private visible: number[] = [];
  private casters: number[] = [];
  private readonly tmp = new Float64Array(3);
  private readonly corners = new Float64Array(24);
  private lightBasis = [1, 0, 0, 0, 1, 0];
  private gridU0 = 0;
  private gridV0 = 0;
  private gridScaleU = 0;
  private gridScaleV = 0;
  private gridStart = new Int32Array(GRID * GRID + 1);
  private gridCells = new Int32Array(0);

  constructor(private readonly sim: Sim) {}

  render(camera: number, s: RenderSettings): Uint8Array {
    const { width: W, height: H } = s;
    const npx = W * H;
    if (this.depth.length !== npx) {
      this.depth = new Float64Array(npx);
      this.hitGeom = new Int32Array(npx);
    }
    this.loadGeoms();
    // Camera frame: columns of cam_xmat are right, up, back; the camera looks along −back.
    const cp = this.sim.camXpos();
    const cm = this.sim.camXmat();
    const ox = cp[3 * camera] + s.cameraOffset[0];
    const oy = cp[3 * camera + 1] + s.cameraOffset[1];
    const oz = cp[3 * camera + 2] + s.cameraOffset[2];
    let rx = cm[9 * camera];
    let ry = cm[9 * camera + 3];
    let rz = cm[9 * camera + 6];
    let ux = cm[9 * camera + 1];
    let uy = cm[9 * camera + 4];
    let uz = cm[9 * camera + 7];
    let fx = -cm[9 * camera + 2];
    let fy = -cm[9 * camera + 5];
    let fz = -cm[9 * camera + 8];
    if (s.cameraYaw !== 0 || s.cameraPitch !== 0) {
      // yaw: rotate forward/right about up; pitch: rotate forward/up about right.
      const cy = Math.cos(s.cameraYaw);
      const sy = Math.sin(s.cameraYaw);
      const f1 = [fx * cy + rx * sy, fy * cy + ry * sy, fz * cy + rz * sy];
      const r1 = [rx * cy - fx * sy, ry * cy - fy * sy, rz * cy - fz * sy];
      const cpit = Math.cos(s.cameraPitch);
      const spit = Math.sin(s.cameraPitch);
      [fx, fy, fz] = [f1[0] * cpit + ux * spit, f1[1] * cpit + uy * spit, f1[2] * cpit + uz * spit];
      [ux, uy, uz] = [ux * cpit - f1[0] * spit, uy * cpit - f1[1] * spit, uz * cpit - f1[2] * spit];
      [rx, ry, rz] = r1;
    }
    const tanY = Math.tan((this.sim.camFovy()[camera] * Math.PI) / 360);
    const tanX = (tanY * W) / H;
    const depth = this.depth;
    const hit = this.hitGeom;
    depth.fill(Number.POSITIVE_INFINITY);
    hit.fill(-1);
    if (this.rays.length !== 3 * npx) this.rays = new Float64Array(3 * npx);
    const rays = this.rays;
    for (let py = 0; py < H; py++) {
      const v = (1 - (2 * (py + 0.5)) / H) * tanY;
      for (let px = 0; px < W; px++) {
        const u = ((2 * (px + 0.5)) / W - 1) * tanX;
        const dx = fx + u * rx + v * ux;
        const dy = fy + u * ry + v * uy;
        const dz = fz + u * rz + v * uz;
        const inv = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
        const o = 3 * (py * W + px);
        rays[o] = dx * inv;
        rays[o + 1] = dy * inv;
        rays[o + 2] = dz * inv;
      }
    }

    // Pass 1: nearest hit per pixel, each geom tested only inside its screen rectangle.
    for (const g of this.visible) {
      const type = this.gtype[g];
      let x0 = 0;
      let x1 = W - 1;
      let y0 = 0;
      let y1 = H - 1;
      if (type !== T_PLANE) {
        const rect = this.screenRect(g, ox, oy, oz, rx, ry, rz, ux, uy, uz, fx, fy, fz, tanX, tanY, W, H);
        if (rect === null) continue;
        [x0, x1, y0, y1] = rect;
      }
      for (let py = y0; py <= y1; py++) {
        for (let px = x0; px <= x1; px++) {
          const idx = py * W + px;
          const t = this.intersect(g, ox, oy, oz, rays[3 * idx], rays[3 * idx + 1], rays[3 * idx + 2]);
          if (t < depth[idx]) {
            depth[idx] = t;
            hit[idx] = g;
          }
        }
      }
    }

    // Pass 2: shading.
    const out = new Uint8Array(npx * 3);
    const [lx, ly, lz] = s.lightDir;
    if (s.shadows) this.buildShadowGrid(lx, ly, lz);
    const n = this.tmp;
    for (let py = 0; py < H; py++) {
      for (let px = 0; px < W; px++) {
        const idx = py * W + px;
        const g = hit[idx];
        const o = 3 * idx;
        if (g < 0) {
          out[o] = BACKGROUND[0];
          out[o + 1] = BACKGROUND[1];
          out[o + 2] = BACKGROUND[2];
          continue;
        }
        const dx = rays[o];
        const dy = rays[o + 1];
        const dz = rays[o + 2];
        const t = depth[idx];
        const hx = ox + t * dx;
        const hy = oy + t * dy;
        const hz = oz + t * dz;
        this.normal(g, hx, hy, hz, n);
        let nx = n[0];
        let ny = n[1];
        let nz = n[2];
        if (nx * dx + ny * dy + nz * dz > 0) {
          nx = -nx;
          ny = -ny;
          nz = -nz;
        }
        let diffuse = nx * lx + ny * ly + nz * lz;
        if (
          diffuse > 0 &&
          s.shadows &&
          this.occluded(g, hx + nx * EPS, hy + ny * EPS, hz + nz * EPS, lx, ly, lz)
        ) {
          diffuse = 0;
        }
        const light =
          AMBIENT + DIFFUSE * Math.max(0, diffuse) + HEADLIGHT * Math.max(0, -(nx * dx + ny * dy + nz * dz));
        out[o] = Math.min(255, Math.round(this.grgb[3 * g] * light * 255));
        out[o + 1] = Math.min(255, Math.round(this.grgb[3 * g + 1] * light * 255));
        out[o + 2] = Math.min(255, Math.round(this.grgb[3 * g + 2] * light * 255));
      }
    }
    return out;
  }

  /**
   * Pixel rectangle covering geom g: its oriented bounding box, clipped to the camera's near plane,
   * projected. Null when the box is entirely behind the camera or off screen.
   */
  private screenRect(
    g: number,
    ox: number,
    oy: number,
    oz: number,
    rx: number,
    ry: number,
    rz: number,
    ux: number,
    uy: number,
    uz: number,
    fx: number,
    fy: number,
    fz: number,
    tanX: number,
    tanY: number,
    W: number,
    H: number,
  ): [number, number, number, number] | null {
    const s0 = this.gsize[3 * g];
    const s1 = this.gsize[3 * g + 1];
    const s2 = this.gsize[3 * g + 2];
    const hx = s0;
    let hy = s1;
    let hz = s2;
    switch (this.gtype[g]) {
      case T_SPHERE:
        hy = s0;
        hz = s0;
        break;
      case T_CAPSULE:
        hy = s0;
        hz = s1 + s0;
        break;
      case T_CYLINDER:
        hy = s0;
        hz = s1;
        break;
    }
    const m = this.gmat;
    const b = 9 * g;
    const cx = this.gpos[3 * g] - ox;
    const cy = this.gpos[3 * g + 1] - oy;
    const cz = this.gpos[3 * g + 2] - oz;
    // Corners in camera coordinates (x right, y up, z forward).
    const cam = this.corners;
    for (let k = 0; k < 8; k++) {
      const lx = k & 1 ? hx : -hx;
      const ly = k & 2 ? hy : -hy;
      const lz = k & 4 ? hz : -hz;
      const wx = cx + m[b] * lx + m[b + 1] * ly + m[b + 2] * lz;
      const wy = cy + m[b + 3] * lx + m[b + 4] * ly + m[b + 5] * lz;
      const wz = cz + m[b + 6] * lx + m[b + 7] * ly + m[b + 8] * lz;
      cam[3 * k] = wx * rx + wy * ry + wz * rz;
      cam[3 * k + 1] = wx * ux + wy * uy + wz * uz;
      cam[3 * k + 2] = wx * fx + wy * fy + wz * fz;
    }
    let u0 = Number.POSITIVE_INFINITY;
    let u1 = Number.NEGATIVE_INFINITY;
    let v0 = Number.POSITIVE_INFINITY;
    let v1 = Number.NEGATIVE_INFINITY;
    const add = (x: number, y: number, z: number) => {
      const u = x / z;
      const v = y / z;
      if (u < u0) u0 = u;
      if (u > u1) u1 = u;
      if (v < v0) v0 = v;
      if (v > v1) v1 = v;
    };
    let front = 0;
    for (let k = 0; k < 8; k++) {
      if (cam[3 * k + 2] >= NEAR) {
        front++;
        add(cam[3 * k], cam[3 * k + 1], cam[3 * k + 2]);
      }
    }
    if (front === 0) return null;
    if (front < 8) {
      // Box edges (corner pairs differing in one bit) crossing the near plane add their crossing point.
      for (let k = 0; k < 8; k++)
        for (const bit of EDGE_BITS) {
          const j = k | bit;
          if (j === k) continue;
          const za = cam[3 * k + 2];
          const zb = cam[3 * j + 2];
          if (za >= NEAR === zb >= NEAR) continue;
          const t = (NEAR - za) / (zb - za);
          add(
            cam[3 * k] + t * (cam[3 * j] - cam[3 * k]),
            cam[3 * k + 1] + t * (cam[3 * j + 1] - cam[3 * k + 1]),
            NEAR,
          );
        }
    }
    const x0 = Math.max(0, Math.floor((u0 / tanX + 1) * 0.5 * W));
    const x1 = Math.min(W - 1, Math.ceil((u1 / tanX + 1) * 0.5 * W));
    // Image rows go top to bottom, i.e. against the camera's up axis.
    const y0 = Math.max(0, Math.floor((1 - v1 / tanY) * 0.5 * H));
    const y1 = Math.min(H - 1, Math.ceil((1 - v0 / tanY) * 0.5 * H));
    if (x0 > x1 || y0 > y1) return null;
    return [x0, x1, y0, y1];
  }

  private loadGeoms(): void {
    const sim = this.sim;
    const ng = sim.ngeom;
    if (this.gtype.length !== ng) {
      this.gpos = new Float64Array(3 * ng);
      this.gmat = new Float64Array(9 * ng);
      this.gsize = new Float64Array(3 * ng);
      this.gtype = new Int32Array(ng);
      this.grad = new Float64Array(ng);
      this.grgb = new Float64Array(3 * ng);
    }
    this.gpos.set(sim.geomXpos());
    this.gmat.set(sim.geomXmat());
    this.gsize.set(sim.geomSize());
    this.gtype.set(sim.geomType());
    this.grad.set(sim.geomRbound());
    const rgba = sim.geomRgba();
    const group = sim.geomGroup();
    this.visible = [];
    this.casters = [];
    for (let g = 0; g < ng; g++) {
      // Group 3+ is MuJoCo's convention for hidden/collision-only geoms; alpha 0 is invisible.
      if (rgba[4 * g + 3] <= 0 || group[g] >= 3) continue;
      const type = this.gtype[g];
      if (type === T_MESH || type === T_HFIELD) continue;
      this.grgb[3 * g] = rgba[4 * g];
      this.grgb[3 * g + 1] = rgba[4 * g + 1];
      this.grgb[3 * g + 2] = rgba[4 * g + 2];
      this.visible.push(g);
      if (type !== T_PLANE) this.casters.push(g);
    }
  }

  /**
   * Light-space grid over the casters' bounding spheres: each cell lists the casters whose sphere,
   * projected along the light direction, overlaps it. A shadow ray then tests only its cell's casters.
   */
  private buildShadowGrid(lx: number, ly: number, lz: number): void {
    // Orthonormal basis (a, b) perpendicular to the light direction.
    let ax = -ly;
    let ay = lx;
    let az = 0;
    if (Math.abs(lz) > 0.9) {
      ax = 0;
      ay = -lz;
      az = ly;
    }
    const an = 1 / Math.sqrt(ax * ax + ay * ay + az * az);
    ax *= an;
    ay *= an;
    az *= an;
    const bx = ly * az - lz * ay;
    const by = lz * ax - lx * az;
    const bz = lx * ay - ly * ax;
    this.lightBasis = [ax, ay, az, bx, by, bz];
    let u0 = Number.POSITIVE_INFINITY;
    let u1 = Number.NEGATIVE_INFINITY;
    let v0 = Number.POSITIVE_INFINITY;
    let v1 = Number.NEGATIVE_INFINITY;
    const n = this.casters.length;
    const pu = new Float64Array(n);
    const pv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = this.casters[i];
      const cx = this.gpos[3 * g];
      const cy = this.gpos[3 * g + 1];
      const cz = this.gpos[3 * g + 2];
      const r = this.grad[g];
      pu[i] = cx * ax + cy * ay + cz * az;
      pv[i] = cx * bx + cy * by + cz * bz;
      u0 = Math.min(u0, pu[i] - r);
      u1 = Math.max(u1, pu[i] + r);
      v0 = Math.min(v0, pv[i] - r);
      v1 = Math.max(v1, pv[i] + r);
    }
    const G = GRID;
    this.gridU0 = u0;
    this.gridV0 = v0;
    this.gridScaleU = n > 0 ? G / Math.max(u1 - u0, 1e-6) : 0;
    this.gridScaleV = n > 0 ? G / Math.max(v1 - v0, 1e-6) : 0;
    const counts = new Int32Array(G * G + 1);
    const ranges: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.grad[this.casters[i]];
      const c0 = Math.max(0, Math.floor((pu[i] - r - u0) * this.gridScaleU));
      const c1 = Math.min(G - 1, Math.floor((pu[i] + r - u0) * this.gridScaleU));
      const r0 = Math.max(0, Math.floor((pv[i] - r - v0) * this.gridScaleV));
      const r1 = Math.min(G - 1, Math.floor((pv[i] + r - v0) * this.gridScaleV));
      ranges.push(c0, c1, r0, r1);
      for (let rr = r0; rr <= r1; rr++) for (let cc = c0; cc <= c1; cc++) counts[rr * G + cc + 1]++;
    }
    for (let k = 1; k <= G * G; k++) counts[k] += counts[k - 1];
    const cells = new Int32Array(counts[G * G]);
    const fill = counts.slice(0, G * G);
    for (let i = 0; i < n; i++) {
      const [c0, c1, r0, r1] = ranges.slice(4 * i, 4 * i + 4);
      for (let rr = r0; rr <= r1; rr++)
        for (let cc = c0; cc <= c1; cc++) cells[fill[rr * G + cc]++] = this.casters[i];
    }
    this.gridStart = counts;
    this.gridCells = cells;
  }

  /** Any caster between the point and the light? */
  private occluded(
    self: number,
    px: number,
    py: number,
    pz: number,
    lx: number,
    ly: number,
    lz: number,
  ): boolean {
    const [ax, ay, az, bx, by, bz] = this.lightBasis;
    const cu = Math.floor((px * ax + py * ay + pz * az - this.gridU0) * this.gridScaleU);
    const cv = Math.floor((px * bx + py * by + pz * bz - this.gridV0) * this.gridScaleV);
    if (cu < 0 || cv < 0 || cu >= GRID || cv >= GRID) return false;
    const cell = cv * GRID + cu;
    const end = this.gridStart[cell + 1];
    for (let k = this.gridStart[cell]; k < end; k++) {
      const g = this.gridCells[k];
      if (g === self) continue; // every primitive is convex: a lit point cannot shadow itself
      const cx = this.gpos[3 * g] - px;
      const cy = this.gpos[3 * g + 1] - py;
      const cz = this.gpos[3 * g + 2] - pz;
      const proj = cx * lx + cy * ly + cz * lz;
      const r = this.grad[g];
      if (proj < -r) continue;
      const d2 = cx * cx + cy * cy + cz * cz - proj * proj;
      if (d2 > r * r) continue;
      if (this.intersect(g, px, py, pz, lx, ly, lz) < Number.POSITIVE_INFINITY) return true;
    }
    return false;
  }

  /** Ray parameter of the first hit with geom g (ray direction unit length), or +∞. */
  private intersect(
    g: number,
    ox: number,
    oy: number,
    oz: number,
    dx: number,
    dy: number,
    dz: number,
  ): number {
    const m = this.gmat;
    const b = 9 * g;
    const px = ox - this.gpos[3 * g];
    const py = oy - this.gpos[3 * g + 1];
    const pz = oz - this.gpos[3 * g + 2];
    // Into the geom frame: local = Rᵀ · world (R columns are the local axes).
    const lox = m[b] * px + m[b + 3] * py + m[b + 6] * pz;
    const loy = m[b + 1] * px + m[b + 4] * py + m[b + 7] * pz;
    const loz = m[b + 2] * px + m[b + 5] * py + m[b + 8] * pz;
    const ldx = m[b] * dx + m[b + 3] * dy + m[b + 6] * dz;
    const ldy = m[b + 1] * dx + m[b + 4] * dy + m[b + 7] * dz;
    const ldz = m[b + 2] * dx + m[b + 5] * dy + m[b + 8] * dz;
    const s0 = this.gsize[3 * g];
    const s1 = this.gsize[3 * g + 1];
    const s2 = this.gsize[3 * g + 2];
    switch (this.gtype[g]) {
      case T_PLANE: {
        if (Math.abs(ldz) < 1e-12) return Number.POSITIVE_INFINITY;
        const t = -loz / ldz;
        if (t <= EPS) return Number.POSITIVE_INFINITY;
        const hx = lox + t * ldx;
        const hy = loy + t * ldy;
        if ((s0 > 0 && Math.abs(hx) > s0) || (s1 > 0 && Math.abs(hy) > s1)) return Number.POSITIVE_INFINITY;
        return t;
      }
      case T_SPHERE:
        return sphereHit(lox, loy, loz, ldx, ldy, ldz, s0);
      case T_ELLIPSOID: {
        const t = sphereHitScaled(lox / s0, loy / s1, loz / s2, ldx / s0, ldy / s1, ldz / s2);
        return t;
      }
      case T_BOX:
        return boxHit(lox, loy, loz, ldx, ldy, ldz, s0, s1, s2);
      case T_CAPSULE: {
        let best = cylinderSide(lox, loy, loz, ldx, ldy, ldz, s0, s1);
        const t1 = sphereHit(lox, loy, loz - s1, ldx, ldy, ldz, s0);
        const t2 = sphereHit(lox, loy, loz + s1, ldx, ldy, ldz, s0);
        if (t1 < best) best = t1;
        if (t2 < best) best = t2;
        return best;
      }
      case T_CYLINDER: {
        let best = cylinderSide(lox, loy, loz, ldx, ldy, ldz, s0, s1);
        if (Math.abs(ldz) > 1e-12) {
          // The cap facing the ray origin.
          const zc = loz > 0 ? s1 : -s1;
          const t = (zc - loz) / ldz;
          if (t > EPS && t < best) {
            const hx = lox + t * ldx;
            const hy = loy + t * ldy;
            if (hx * hx + hy * hy <= s0 * s0) best = t;
          }
        }
        return best;
      }
      default:
        return Number.POSITIVE_INFINITY;
    }
  }

  /** World-space unit normal of geom g at world point h. */
  private normal(g: number, hx: number, hy: number, hz: number, out: Float64Array): void {
    const m = this.gmat;
    const b = 9 * g;
    const px = hx - this.gpos[3 * g];
    const py = hy - this.gpos[3 * g + 1];
    const pz = hz - this.gpos[3 * g + 2];
    const x = m[b] * px + m[b + 3] * py + m[b + 6] * pz;
    const y = m[b + 1] * px + m[b + 4] * py + m[b + 7] * pz;
    const z = m[b + 2] * px + m[b + 5] * py + m[b + 8] * pz;
    const s0 = this.gsize[3 * g];
    const s1 = this.gsize[3 * g + 1];
    const s2 = this.gsize[3 * g + 2];
    let nx = 0;
    let ny = 0;
    let nz = 0;
    switch (this.gtype[g]) {
      case T_PLANE:
        nz = 1;
        break;
      case T_SPHERE:
        nx = x;
        ny = y;
        nz = z;
        break;
      case T_ELLIPSOID:
        nx = x / (s0 * s0);
        ny = y / (s1 * s1);
        nz = z / (s2 * s2);
        break;
      case T_BOX: {
        const ax = Math.abs(x) / s0;
        const ay = Math.abs(y) / s1;
        const az = Math.abs(z) / s2;
        if (ax >= ay && ax >= az) nx = Math.sign(x);
        else if (ay >= az) ny = Math.sign(y);
        else nz = Math.sign(z);
        break;
      }
      case T_CAPSULE: {
        const zc = Math.max(-s1, Math.min(s1, z));
        nx = x;
        ny = y;
        nz = z - zc;
        break;
      }
      case T_CYLINDER: {
        const radial = Math.sqrt(x * x + y * y) / s0;
        const axial = Math.abs(z) / s1;
        if (axial > radial) nz = Math.sign(z);
        else {
          nx = x;
          ny = y;
        }
        break;
      }
      default:
        nz = 1;
    }
    const wx = m[b] * nx + m[b + 1] * ny + m[b + 2] * nz;
    const wy = m[b + 3] * nx + m[b + 4] * ny + m[b + 5] * nz;
    const wz = m[b + 6] * nx + m[b + 7] * ny + m[b + 8] * nz;
    const inv = 1 / (Math.sqrt(wx * wx + wy * wy + wz * wz) || 1);
    out[0] = wx * inv;
    out[1] = wy * inv;
    out[2] = wz * inv;
  }
}

function sphereHit(
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  r: number,
): number {
  const bq = ox * dx + oy * dy + oz * dz;
  const c = ox * ox + oy * oy + oz * oz - r * r;
  const disc = bq * bq - c;
  if (disc < 0) return Number.POSITIVE_INFINITY;
  const sq = Math.sqrt(disc);
  const t0 = -bq - sq;
  if (t0 > EPS) return t0;
  const t1 = -bq + sq;
  return t1 > EPS && c > 0 ? t1 : Number.POSITIVE_INFINITY;
}

/** Unit sphere hit of a ray whose direction is not unit length (ellipsoid after scaling). */
function sphereHitScaled(ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): number {
  const a = dx * dx + dy * dy + dz * dz;
  const bq = ox * dx + oy * dy + oz * dz;
  const c = ox * ox + oy * oy + oz * oz - 1;
  const disc = bq * bq - a * c;
  if (disc < 0) return Number.POSITIVE_INFINITY;
  const t0 = (-bq - Math.sqrt(disc)) / a;
  return t0 > EPS ? t0 : Number.POSITIVE_INFINITY;
}

function boxHit(
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  sx: number,
  sy: number,
  sz: number,
): number {
  // Slab test, unrolled (this is the hottest function: most scene geoms are boxes).
  let tmin = Number.NEGATIVE_INFINITY;
  let tmax = Number.POSITIVE_INFINITY;
  if (dx > 1e-12 || dx < -1e-12) {
    const a = (-sx - ox) / dx;
    const b = (sx - ox) / dx;
    tmin = Math.min(a, b);
    tmax = Math.max(a, b);
  } else if (ox > sx || ox < -sx) return Number.POSITIVE_INFINITY;
  if (dy > 1e-12 || dy < -1e-12) {
    const a = (-sy - oy) / dy;
    const b = (sy - oy) / dy;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (lo > tmin) tmin = lo;
    if (hi < tmax) tmax = hi;
  } else if (oy > sy || oy < -sy) return Number.POSITIVE_INFINITY;
  if (dz > 1e-12 || dz < -1e-12) {
    const a = (-sz - oz) / dz;
    const b = (sz - oz) / dz;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (lo > tmin) tmin = lo;
    if (hi < tmax) tmax = hi;
  } else if (oz > sz || oz < -sz) return Number.POSITIVE_INFINITY;
  if (tmin > tmax || tmin <= EPS) return Number.POSITIVE_INFINITY;
  return tmin;
}

/** Side of the cylinder of radius r along local z, |z| ≤ h. */
function cylinderSide(
  ox: number,
  oy: number,
  oz: number,
  dx: number,
  dy: number,
  dz: number,
  r: number,
  h: number,
): number {
  const a = dx * dx + dy * dy;
  if (a < 1e-12) return Number.POSITIVE_INFINITY;
  const bq = ox * dx + oy * dy;
  const c = ox * ox + oy * oy - r * r;
  const disc = bq * bq - a * c;
  if (disc < 0) return Number.POSITIVE_INFINITY;
  const t = (-bq - Math.sqrt(disc)) / a;
  if (t <= EPS) return Number.POSITIVE_INFINITY;
  const z = oz + t * dz;
  return Math.abs(z) <= h ? t : Number.POSITIVE_INFINITY;
}
