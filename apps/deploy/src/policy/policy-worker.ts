/**
 * Worker-thread entry: loads the policy on the native tfjs backend and answers `infer` requests one at a
 * time (tfjs kernels are synchronous, so the main thread's event loop stays free).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, setThreads } from '@anchor-refine/core-tensors';
import {
  type AnyPolicy,
  type AnyPolicyConfig,
  createPolicy,
  loadPolicy,
  policyConfig,
  policyShape,
  xvlaPolicyConfig,
} from '@anchor-refine/policy';
import type { PolicyInfo, WorkerInit, WorkerReply, WorkerRequest } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('policy-worker must run in a worker thread');
const init = workerData as WorkerInit;

/** A random-init config of the source's preset and backbone (dims default to the preset's). */
function initConfig(src: Extract<WorkerInit['source'], { kind: 'init' }>): AnyPolicyConfig {
  if (src.backbone === 'xvla') {
    if (src.cameras) throw new Error('init source: cameras applies to the gr1 backbone only');
    const gr1 = policyShape(policyConfig(src.preset)); // X-VLA presets have no robot dims: use GR-1's
    return xvlaPolicyConfig(src.preset, {
      armDim: src.armDim ?? gr1.armDim,
      stateDim: src.stateDim ?? gr1.stateDim,
      overrides: { seed: src.seed },
    });
  }
  return policyConfig(src.preset, {
    seed: src.seed,
    backbone: {
      config: {
        ...(src.stateDim ? { stateDim: src.stateDim } : {}),
        ...(src.armDim ? { armDim: src.armDim } : {}),
        ...(src.cameras ? { cameras: src.cameras } : {}),
      },
    },
  });
}

async function load(): Promise<AnyPolicy> {
  await selectBackend('native');
  if (init.threads !== undefined) setThreads(init.threads);
  const src = init.source;
  if (src.kind === 'checkpoint') return loadPolicy(src.dir);
  return createPolicy(initConfig(src));
}

try {
  const policy = await load();
  const shape = policyShape(policy.config);
  const src = init.source;
  const info: PolicyInfo = {
    cameras: shape.cameras,
    imageSize: shape.imageSize,
    stateDim: shape.stateDim,
    armDim: shape.armDim,
    horizon: shape.horizon,
    history: shape.history,
    actionsPerChunk: shape.actionsPerChunk,
    temporalEnsemble: shape.temporalEnsemble,
    source:
      src.kind === 'checkpoint' ? src.dir : `init:${src.backbone === 'xvla' ? 'xvla-' : ''}${src.preset}`,
  };
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'close') {
      port.close();
      return;
    }
    try {
      // infer_ms is the policy's own call only; everything else on the request path is server overhead.
      const t0 = performance.now();
      const c = policy.predictActionChunk(msg.observations, msg.guide);
      const inferMs = performance.now() - t0;
      const chunk = {
        arm: c.arm,
        gripper: c.gripper,
        gripperProb: c.gripperProb,
        horizon: c.horizon,
        armDim: c.armDim,
      };
      // The chunk's arrays are a few hundred bytes (H × armDim): cloning them costs less than a transfer
      // list, and the policy may keep its own references to them.
      port.postMessage({ type: 'result', id: msg.id, chunk, inferMs } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready', info } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ type: 'fatal', message: (err as Error).stack ?? String(err) } satisfies WorkerReply);
}
