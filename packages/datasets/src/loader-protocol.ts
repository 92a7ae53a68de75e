import type { OpenOptions } from './reader.js';
import type { SampleBatch } from './sampler.js';
import type { SamplerConfig } from './sampler-config.js';

export interface InitMessage {
  type: 'init';
  root: string;
  config: SamplerConfig;
  open: OpenOptions;
}
export interface BatchRequest {
  type: 'batch';
  id: number;
  indices: Int32Array;
}
export type ToWorker = InitMessage | BatchRequest;
export type FromWorker =
  | { type: 'ready' }
  | { type: 'batch'; id: number; batch: SampleBatch }
  | { type: 'error'; id: number | null; message: string; name: string };

/** Buffers of a batch, for a zero-copy transfer list. */
export function batchBuffers(b: SampleBatch): ArrayBuffer[] {
  const views: ArrayBufferView[] = [
    b.state.data,
    b.gripperState,
    b.historyMask,
    b.actions.data,
    b.actionMask,
    b.taskIndex,
    b.episodeIndex,
    b.frameIndex,
    ...Object.values(b.images).map((i) => i.data),
    ...Object.values(b.futureImages ?? {}).map((i) => i.data),
  ];
  return [...new Set(views.map((v) => v.buffer as ArrayBuffer))];
}
