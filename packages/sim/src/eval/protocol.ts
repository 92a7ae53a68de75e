import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EnvOptionsInput } from '../env/options.js';
import type { TaskId } from '../env/types.js';
import type { EpisodeRecord } from './episode.js';
import type { PolicyFactory, PolicyFactorySpec } from './policy.js';

export interface WorkerInit {
  workerIndex: number;
  env: EnvOptionsInput;
  policy: PolicyFactorySpec;
}

export type WorkerRequest =
  | { type: 'run'; task: TaskId; seed: number; framesDir?: string }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; record: EpisodeRecord }
  | { type: 'error'; task: TaskId; seed: number; error: string };

/** Imports `spec.module` and returns its `spec.exportName`, checking that it is a function. */
export async function loadPolicyFactory(spec: PolicyFactorySpec): Promise<PolicyFactory> {
  const target = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(
      `policy.module "${spec.module}" could not be imported: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const f = mod[spec.exportName];
  if (typeof f !== 'function')
    throw new Error(`policy.exportName "${spec.exportName}" is not a function exported by "${spec.module}"`);
  return f as PolicyFactory;
}
