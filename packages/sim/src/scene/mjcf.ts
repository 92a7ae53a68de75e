import { cross, normalize, sub, type Vec3 } from '../math/vec.js';

/** Formats numbers for MJCF attributes (fixed precision keeps the XML diff-able and deterministic). */
export function nums(...xs: number[]): string {
  return xs.map((x) => Number(x.toFixed(6)).toString()).join(' ');
}

export type Rgba = [number, number, number, number];

export function rgba(c: Rgba): string {
  return nums(...c);
}

/** MJCF `xyaxes` for a camera at `pos` looking at `target` with `up` as the approximate up vector. */
export function lookAtXyaxes(pos: Vec3, target: Vec3, up: Vec3 = [0, 0, 1]): string {
  const fwd = normalize(sub(target, pos));
  const right = normalize(cross(fwd, up));
  const camUp = cross(right, fwd);
  return nums(...right, ...camUp);
}
