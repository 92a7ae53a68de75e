/**
 * A run folder's layout: where `eval`, `ablate` and `report` put their results under `<outDir>/`, the
 * ablation record's shape, and what makes a folder a policy checkpoint. Writers (ablate, cli, demo) and the
 * reader (report) import it from here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskReport } from '@anchor-refine/sim';

export const RUN_FILES = {
  closedLoop: 'eval/closed-loop.json',
  offline: 'eval/offline.json',
  /** written by `rollouts`; the APNGs it names lie beside it */
  rollouts: 'eval/rollouts/index.json',
  ablation: 'ablation.json',
  report: 'report.html',
} as const;

/** One row of `ablation.json`: a variant's closed-loop success per task and its average. */
export interface AblationRow {
  name: string;
  tasks: TaskReport[];
  average: number;
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
