/**
 * What both AnchorRefine policies (GR-1, X-VLA) share around their models: the chunk dimensions, the
 * normalization statistics, and the control-step action selection (history, chunk queue or temporal
 * ensembling) over their own `predictActionChunk`.
 */
import type { Tokenizer } from '@anchor-refine/backbones';
import { Module } from '@anchor-refine/nn';
import type { ActionChunk } from './chunk.js';
import type { ExecutionConfig } from './config.js';
import { ActionSelector } from './queue.js';
import type { ChunkGuide } from './rtc.js';
import { identityStats, type PolicyStats, validateStats } from './stats.js';

/** One control step's observation in raw units (what an env or robot gives). */
export interface PolicyObservation {
  /** camera → HWC RGB uint8 at the backbone's image size. */
  images: Record<string, { data: Uint8Array; height: number; width: number }>;
  /** raw arm state [S] (gripper excluded) */
  state: Float32Array | number[];
  /** gripper state, 1 = closed */
  gripperState: number;
  task: string;
}

export abstract class PolicyBase extends Module {
  private statsValue: PolicyStats;
  private readonly actions: ActionSelector<PolicyObservation>;

  protected constructor(
    readonly horizon: number,
    /** arm action channels (the gripper is one more) */
    readonly armDim: number,
    readonly stateDim: number,
    /** observation frames per prediction */
    readonly history: number,
    execution: ExecutionConfig,
    stats: PolicyStats | undefined,
  ) {
    super();
    this.statsValue = stats ?? identityStats(stateDim, armDim);
    validateStats(this.statsValue, stateDim, armDim);
    this.actions = new ActionSelector(execution, history);
  }

  /** The instruction tokenizer the backbone uses. */
  abstract get tokenizer(): Tokenizer | undefined;

  /**
   * One chunk from an observation history (oldest first; the last element is the current step). With
   * `guide` (real-time chunking, `rtc.ts`) the chunk continues the still-executing plan: its first
   * `guide.delay` steps equal the plan's exactly.
   */
  abstract predictActionChunk(
    observations: PolicyObservation | readonly PolicyObservation[],
    guide?: ChunkGuide,
  ): ActionChunk;

  protected get stats(): PolicyStats {
    return this.statsValue;
  }

  get normalizationStats(): PolicyStats {
    return structuredClone(this.statsValue);
  }

  setStats(stats: PolicyStats): void {
    validateStats(stats, this.stateDim, this.armDim);
    this.statsValue = structuredClone(stats);
  }

  /** The action for this control step [D] (raw arm units, gripper ∈ {0,1}); keeps its own history. */
  selectAction(obs: PolicyObservation): Float32Array {
    return this.actions.select(obs, (history) => this.predictActionChunk(history));
  }

  /** Clears the observation history, the action queue and the ensembler (call at episode start). */
  reset(): void {
    this.actions.reset();
  }
}
