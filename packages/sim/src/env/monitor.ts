import type { TaskStatus } from '../tasks/types.js';

/** Distance (m) from the grip site to the grasp target that counts as "at the object". */
export const ARRIVAL_TOLERANCE = 0.015;
/** Consecutive closed-command steps without the grasp after holding it that count as a drop. */
const DROP_STEPS = 3;

/** Per-episode facts the evaluator turns into a failure class. */
export interface EpisodeSummary {
  steps: number;
  success: boolean;
  hasGraspTarget: boolean;
  /** First control step whose gripper command was ≥ 0.5 (closed), or null. */
  firstCloseStep: number | null;
  /** Grip-site distance to the grasp target when the gripper was first commanded closed. */
  closeDistance: number | null;
  /** The site was within ARRIVAL_TOLERANCE of the target at some step before the first close. */
  arrivedBeforeClose: boolean;
  everGrasped: boolean;
  /** The grasp was lost while the gripper was still commanded closed. */
  dropped: boolean;
  /** Final displacement of the manipulated object from its start (m). */
  objectDisplacement: number;
}

export class EpisodeMonitor {
  private s: EpisodeSummary = EpisodeMonitor.empty();
  private lostSteps = 0;

  static empty(): EpisodeSummary {
    return {
      steps: 0,
      success: false,
      hasGraspTarget: false,
      firstCloseStep: null,
      closeDistance: null,
      arrivedBeforeClose: false,
      everGrasped: false,
      dropped: false,
      objectDisplacement: 0,
    };
  }

  reset(): void {
    this.s = EpisodeMonitor.empty();
    this.lostSteps = 0;
  }

  record(
    step: number,
    gripCommand: number,
    site: ArrayLike<number>,
    status: TaskStatus,
    success: boolean,
  ): void {
    const s = this.s;
    s.steps = step;
    s.success = success;
    s.objectDisplacement = status.objectDisplacement;
    const closed = gripCommand >= 0.5;
    const t = status.graspTarget;
    if (t) {
      s.hasGraspTarget = true;
      const d = Math.hypot(site[0] - t[0], site[1] - t[1], site[2] - t[2]);
      if (s.firstCloseStep === null) {
        if (closed) {
          s.firstCloseStep = step;
          s.closeDistance = d;
        } else if (d < ARRIVAL_TOLERANCE) s.arrivedBeforeClose = true;
      }
    }
    if (status.grasped) {
      s.everGrasped = true;
      this.lostSteps = 0;
    } else if (s.everGrasped && closed && !status.goal) {
      this.lostSteps += 1;
      if (this.lostSteps >= DROP_STEPS) s.dropped = true;
    } else this.lostSteps = 0;
  }

  summary(): EpisodeSummary {
    return { ...this.s };
  }
}
