/**
 * Worker-thread entry: loads the policy on the native tfjs backend and answers `infer` requests one at a
 * time (tfjs kernels are synchronous, so the main thread's event loop stays free).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, setThreads } from '@anchor-refine/core-tensors';
import { AnchorRefinePolicy, loadPolicy, policyConfig } from '@anchor-refine/policy';
import type { PolicyInfo, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('policy-worker must run in a worker thread');
const init = workerData as WorkerInit;

async function load(): Promise<AnchorRefinePolicy> {
  await selectBackend('native');
  if (init.threads !== undefined) setThreads(init.threads);
  const src = init.source;
  if (src.kind === 'checkpoint') return loadPolicy(src.dir);
  const overrides = {
    seed: src.seed,
    backbone: {
      config: {
        ...(src.stateDim ? { stateDim: src.stateDim } : {}),
        ...(src.armDim ? { armDim: src.armDim } : {}),
      },
    },
  };
  return new AnchorRefinePolicy(policyConfig(src.preset, overrides));
}

try {
  const policy = await load();
  const bb = policy.config.backbone.config;
  const src = init.source;
  const info: PolicyInfo = {
    cameras: [...bb.cameras],
    imageSize: bb.vision.imageSize,
    stateDim: bb.stateDim,
    armDim: bb.armDim,
    horizon: bb.horizon,
    history: bb.history,
    actionsPerChunk: policy.config.execution.actionsPerChunk,
    temporalEnsemble: policy.config.execution.temporalEnsemble,
    source: src.kind === 'checkpoint' ? src.dir : `init:${src.preset}`,
  };
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'close') {
      port.close();
      return;
    }
    const t0 = performance.now();
    try {
      const c = policy.predictActionChunk(msg.observations);
      const chunk = {
        arm: c.arm,
        gripper: c.gripper,
        gripperProb: c.gripperProb,
        horizon: c.horizon,
        armDim: c.armDim,
      };
      const reply: WorkerReply = { type: 'result', id: msg.id, chunk, inferMs: performance.now() - t0 };
      port.postMessage(reply);
    } catch (err) {
      port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready', info } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ type: 'fatal', message: (err as Error).stack ?? String(err) } satisfies WorkerReply);
}
