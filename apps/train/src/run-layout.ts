/**
 * A run folder's layout: where `eval`, `ablate` and `report` put their results under `<outDir>/`, the
 * ablation record's shape, and what makes a folder a policy checkpoint. Writers (ablate, cli, demo) and the
 * reader (report) import it from here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskId, TaskReport } from '@anchor-refine/sim';

export const RUN_FILES = {
  closedLoop: 'eval/closed-loop.json',
  offline: 'eval/offline.json',
  /** written by `rollouts`; the APNGs it names lie beside it */
  rollouts: 'eval/rollouts/index.json',
  ablation: 'ablation.json',
  report: 'report.html',
} as const;

/** `ablation.json`'s baseline row (the shared phase-1 model, anchor-only) and the full method's row: the references every row is paired against. */
export const ANCHOR_ROW = 'anchor-only (phase 1)';
export const FULL_ROW = 'full AnchorRefine';

/** One episode of an ablation row: enough to pair it with the same seed in another row. */
export interface EpisodeOutcome {
  task: TaskId;
  seed: number;
  success: boolean;
}

/** A row against a reference row on the same seeds: discordant episodes and the exact McNemar test. */
export interface PairedAgainst {
  /** the reference row's name */
  against: string;
  failToSuccess: number;
  successToFail: number;
  /** two-sided exact McNemar (sign test on the discordant episodes) */
  pValue: number;
  /** this row's average success − the reference's (points / 100) */
  gain: number;
}

/** One row of `ablation.json`: a variant's closed-loop success per task, its average and its episodes. */
export interface AblationRow {
  name: string;
  tasks: TaskReport[];
  average: number;
  /** per-episode outcomes (absent in records written before stop 15) */
  outcomes?: EpisodeOutcome[];
  /** paired against the anchor-only row, and against the full AnchorRefine row (not on those rows themselves) */
  paired?: PairedAgainst[];
}

/** `ablation.json`. */
export interface AblationResult {
  episodesPerTask: number;
  seedOffset: number;
  variants: AblationRow[];
}

/** Throws unless `dir` is a policy checkpoint folder (it has config.json); `flag` names the option it came from. */
export function requirePolicyCheckpoint(dir: string, flag: string): void {
  if (!existsSync(join(dir, 'config.json')))
    throw new Error(`${flag}: ${dir} is not a policy checkpoint (no config.json)`);
}
