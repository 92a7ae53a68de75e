import type { EpisodeSummary } from '../env/monitor.js';

/**
 * Why an episode failed.
 * Gripper-related: `closed_too_early` (first close while the gripper had not yet reached the object),
 * `closed_too_late` (it had reached the object but closed only after moving away again),
 * `missed_grasp` (closed at the object but never held it), `dropped` (held it, lost it while still
 * commanded closed). Arm-related: `misplaced` (the object was moved or carried and released, but the
 * goal predicate never held long enough), `timeout` (nothing decisive happened before the step limit).
 */
export type FailureClass =
  | 'closed_too_early'
  | 'closed_too_late'
  | 'missed_grasp'
  | 'dropped'
  | 'misplaced'
  | 'timeout';

export const FAILURE_CLASSES: readonly FailureClass[] = [
  'closed_too_early',
  'closed_too_late',
  'missed_grasp',
  'dropped',
  'misplaced',
  'timeout',
];

/** The gripper-related classes (the paper's "gripper-related failures"); the others are the arm's. */
export const GRIPPER_FAILURES: readonly FailureClass[] = [
  'closed_too_early',
  'closed_too_late',
  'missed_grasp',
  'dropped',
];

/** Object displacement (m) above which a push/pull counts as "moved but misplaced". */
const MOVED = 0.01;
/** Grip-site distance (m) at the first close that still counts as "at the object". */
const CLOSE_TOLERANCE = 0.015;

/** null for a successful episode. */
export function classifyFailure(s: EpisodeSummary): FailureClass | null {
  if (s.success) return null;
  if (!s.hasGraspTarget) return s.objectDisplacement > MOVED ? 'misplaced' : 'timeout';
  if (s.everGrasped) return s.dropped ? 'dropped' : 'misplaced';
  if (s.firstCloseStep === null) return s.objectDisplacement > MOVED ? 'misplaced' : 'timeout';
  if ((s.closeDistance ?? Number.POSITIVE_INFINITY) <= CLOSE_TOLERANCE) return 'missed_grasp';
  return s.arrivedBeforeClose ? 'closed_too_late' : 'closed_too_early';
}
