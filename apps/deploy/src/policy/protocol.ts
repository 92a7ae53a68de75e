/** Messages between the main thread (`PolicyClient`) and the policy worker thread. */

import type { BackboneType, ChunkGuide, ChunkPrediction, PolicyObservation } from '@anchor-refine/policy';

export type InitPreset = 'tiny' | 'small';

/** Where the worker gets its policy: a checkpoint folder, or a random init of a preset. */
export type PolicySource =
  | { kind: 'checkpoint'; dir: string }
  | {
      kind: 'init';
      preset: InitPreset;
      seed: number;
      /** default 'gr1' */
      backbone?: BackboneType;
      stateDim?: number;
      armDim?: number;
      /** camera names (default: the preset's) */
      cameras?: string[];
    };

export interface WorkerInit {
  source: PolicySource;
  /** native kernel / BLAS threads in the worker (default: the library's default, all cores) */
  threads?: number;
}

/** What the server and the robot loop need to know about the loaded policy. */
export interface PolicyInfo {
  cameras: string[];
  imageSize: number;
  stateDim: number;
  armDim: number;
  horizon: number;
  history: number;
  actionsPerChunk: number;
  temporalEnsemble: number | null;
  source: string;
}

export type WorkerRequest =
  | { type: 'infer'; id: number; observations: PolicyObservation[]; guide?: ChunkGuide }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; info: PolicyInfo }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; chunk: ChunkPrediction; inferMs: number }
  | { type: 'error'; id: number; message: string };
