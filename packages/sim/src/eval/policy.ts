import type { Env } from '../env/env.js';
import type { Observation, TaskId } from '../env/types.js';

/** Any closed-loop policy: reset() at the start of each episode, act() once per control step. */
export interface ClosedLoopPolicy {
  reset(): void | Promise<void>;
  act(obs: Observation): Float32Array | Promise<Float32Array>;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A policy recipe that crosses a worker boundary: each worker does `(await import(module))[exportName]
 * (options, context)` once per task. `module` is an absolute path or a package specifier.
 */
export interface PolicyFactorySpec {
  module: string;
  exportName: string;
  options: JsonValue;
}

/**
 * What a factory gets besides its options. `env` is the worker's environment for `task`; learned
 * policies should only read observations; privileged access exists for oracle/expert baselines.
 */
export interface PolicyContext {
  task: TaskId;
  env: Env;
  workerIndex: number;
}

export type PolicyFactory = (
  options: JsonValue,
  context: PolicyContext,
) => ClosedLoopPolicy | Promise<ClosedLoopPolicy>;
