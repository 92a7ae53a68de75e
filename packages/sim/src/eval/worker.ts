/**
 * Evaluation worker: builds one Env + one policy per task on demand and runs the episodes the main
 * thread sends, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Env } from '../env/env.js';
import type { TaskId } from '../env/types.js';
import { type EpisodeRecord, runEpisode } from './episode.js';
import { pngFrameSink } from './frames.js';
import type { ClosedLoopPolicy } from './policy.js';
import { loadPolicyFactory, type WorkerInit, type WorkerReply, type WorkerRequest } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('eval/worker.ts must run in a worker thread');

const envs = new Map<TaskId, { env: Env; policy: ClosedLoopPolicy }>();

async function get(task: TaskId): Promise<{ env: Env; policy: ClosedLoopPolicy }> {
  let e = envs.get(task);
  if (!e) {
    const env = await Env.create(task, init.env);
    const factory = await loadPolicyFactory(init.policy);
    const policy = await factory(init.policy.options, { task, env, workerIndex: init.workerIndex });
    e = { env, policy };
    envs.set(task, e);
  }
  return e;
}

port.on('message', async (msg: WorkerRequest) => {
  if (msg.type === 'close') {
    for (const { env } of envs.values()) env.close();
    envs.clear();
    port.close();
    return;
  }
  try {
    const { env, policy } = await get(msg.task);
    const sink = msg.framesDir ? pngFrameSink(msg.framesDir, msg.task, msg.seed) : undefined;
    const record: EpisodeRecord = await runEpisode(env, policy, msg.seed, sink);
    port.postMessage({ type: 'done', record } satisfies WorkerReply);
  } catch (e) {
    const err = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
    port.postMessage({ type: 'error', task: msg.task, seed: msg.seed, error: err } satisfies WorkerReply);
  }
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
