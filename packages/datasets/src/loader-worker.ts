import { parentPort } from 'node:worker_threads';
import { batchBuffers, type FromWorker, type ToWorker } from './loader-protocol.js';
import { openDataset } from './reader.js';
import { Sampler } from './sampler.js';

if (!parentPort) throw new Error('loader-worker must run in a worker thread');
const port = parentPort;
let sampler: Promise<Sampler> | null = null;

function fail(id: number | null, e: unknown): void {
  const err = e as Error;
  port.postMessage({
    type: 'error',
    id,
    message: err.message ?? String(e),
    name: err.name ?? 'Error',
  } satisfies FromWorker);
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    sampler = openDataset(msg.root, msg.open).then((ds) => new Sampler(ds, msg.config));
    sampler.then(
      () => port.postMessage({ type: 'ready' } satisfies FromWorker),
      (e) => fail(null, e),
    );
    return;
  }
  const s = sampler;
  if (!s) return fail(msg.id, new Error('worker received a batch request before init'));
  s.then((smp) => smp.batch(msg.indices)).then(
    (batch) =>
      port.postMessage({ type: 'batch', id: msg.id, batch } satisfies FromWorker, batchBuffers(batch)),
    (e) => fail(msg.id, e),
  );
});
