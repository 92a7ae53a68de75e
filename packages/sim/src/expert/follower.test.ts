import { describe, expect, it } from 'vitest';
import type { Waypoint } from '../tasks/types.js';
import { nearestWaypoint, WaypointFollower } from './follower.js';

// pick_cube's shape: hover above the cube, descend, close, lift (origin = the home pose).
const plan: Waypoint[] = [
  { pos: [0, 0, 0.075], yaw: 0, grip: 0 },
  { pos: [0, 0, 0.019], yaw: 0, grip: 0 },
  { pos: [0, 0, 0.019], yaw: 0, grip: 1 },
  { pos: [0, 0, 0.09], yaw: 0, grip: 1 },
];
const origin: [number, number, number] = [0.14, 0, 0.13];

describe('nearestWaypoint (where a takeover continues)', () => {
  it('hand-computed: on the approach → the hover waypoint; already down by the cube → the descent', () => {
    expect(nearestWaypoint(plan, origin, origin)).toBe(0);
    expect(nearestWaypoint(plan, [0.07, 0, 0.1025], origin)).toBe(0); // mid-way home → hover, on segment 0
    // 1 cm beside the descent line at 4 cm height: 0.010 m from segment 1; from segment 0 (home → hover) at
    // least the distance to its nearer end (0, 0, 0.075): √(0.01² + 0.035²) ≈ 0.036 m.
    expect(nearestWaypoint(plan, [0.01, 0, 0.04], origin)).toBe(1);
  });

  it('never skips past the first gripper change, even at the grasp pose', () => {
    expect(nearestWaypoint(plan, [0, 0, 0.019], origin)).toBe(1);
    expect(nearestWaypoint(plan, [0, 0, 0.09], origin)).toBe(0); // above the hover point: climb, not lift
  });

  it('the follower starts at the given waypoint and rejects one outside the plan', () => {
    const f = new WaypointFollower(plan, [0.01, 0, 0.04], 0, 1);
    const c = f.next();
    expect(c.pos[2]).toBeLessThan(0.04); // heads down toward the descent point, not up to hover
    expect(c.grip).toBe(0);
    expect(() => new WaypointFollower(plan, origin, 0, 4)).toThrow(/startIndex/);
  });
});
