import type { Vec3 } from '../math/vec.js';
import type { Waypoint } from '../tasks/types.js';

/** Default expert speed: 3 cm per 10 Hz step (30 cm/s, within what the position servos track). */
export const EXPERT_SPEED = 0.03;
/** Yaw rate limit per step (rad); keeps the wrist roll smooth. */
const YAW_SPEED = 0.35;

export interface EeCommand {
  pos: Vec3;
  yaw: number;
  grip: 0 | 1;
}

/**
 * Turns a waypoint list into one end-effector command per control step: moves the commanded pose
 * toward the active waypoint at most `speed` per step, stays `hold` steps once there, then advances.
 * After the last waypoint it keeps commanding it (the env ends the episode on success or time-out).
 */
/** Distance from p to the segment [a, b]. */
function segmentDistance(p: Vec3, a: Vec3, b: Vec3): number {
  const ab: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const len2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
  const t =
    len2 > 0
      ? Math.max(
          0,
          Math.min(1, ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1] + (p[2] - a[2]) * ab[2]) / len2),
        )
      : 0;
  return Math.hypot(p[0] - a[0] - t * ab[0], p[1] - a[1] - t * ab[1], p[2] - a[2] - t * ab[2]);
}

/**
 * Where a takeover continues the plan: the waypoint whose incoming segment passes nearest to `pos`
 * (waypoint k's segment runs from waypoint k − 1, waypoint 0's from `origin`, the pose episodes start
 * at), among the waypoints before the plan's first gripper change. A gripper that has already come down
 * toward the object heads on to the next waypoint instead of climbing back to the first one.
 */
export function nearestWaypoint(waypoints: readonly Waypoint[], pos: Vec3, origin: Vec3): number {
  let best = 0;
  let bestDist = Number.POSITIVE_INFINITY;
  for (let k = 0; k < waypoints.length && waypoints[k].grip === waypoints[0].grip; k++) {
    const d = segmentDistance(pos, k === 0 ? origin : waypoints[k - 1].pos, waypoints[k].pos);
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  }
  return best;
}

export class WaypointFollower {
  private index: number;
  private held = 0;
  private pos: Vec3;
  private yaw: number;

  constructor(
    private readonly waypoints: readonly Waypoint[],
    start: Vec3,
    startYaw: number,
    startIndex = 0,
  ) {
    if (waypoints.length === 0) throw new Error('WaypointFollower needs at least one waypoint');
    if (!(Number.isInteger(startIndex) && startIndex >= 0 && startIndex < waypoints.length))
      throw new Error(`WaypointFollower: startIndex must be in [0, ${waypoints.length}), got ${startIndex}`);
    this.index = startIndex;
    this.pos = [...start];
    this.yaw = startYaw;
  }

  get finished(): boolean {
    return this.index >= this.waypoints.length - 1 && this.held >= (this.waypoints.at(-1)?.hold ?? 0);
  }

  next(): EeCommand {
    const wp = this.waypoints[Math.min(this.index, this.waypoints.length - 1)];
    const speed = wp.speed ?? EXPERT_SPEED;
    const d: Vec3 = [wp.pos[0] - this.pos[0], wp.pos[1] - this.pos[1], wp.pos[2] - this.pos[2]];
    const dist = Math.hypot(d[0], d[1], d[2]);
    const dyaw = wp.yaw - this.yaw;
    if (dist <= speed && Math.abs(dyaw) <= YAW_SPEED) {
      this.pos = [...wp.pos];
      this.yaw = wp.yaw;
      if (this.held >= (wp.hold ?? 0) && this.index < this.waypoints.length - 1) {
        this.index += 1;
        this.held = 0;
      } else this.held += 1;
    } else {
      const f = dist > speed ? speed / dist : 1;
      this.pos = [this.pos[0] + d[0] * f, this.pos[1] + d[1] * f, this.pos[2] + d[2] * f];
      this.yaw += Math.max(-YAW_SPEED, Math.min(YAW_SPEED, dyaw));
    }
    return { pos: [...this.pos], yaw: this.yaw, grip: wp.grip };
  }
}
