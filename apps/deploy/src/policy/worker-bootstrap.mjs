// Dev-only worker entry: registers tsx's ESM loader in this worker thread, then loads the TypeScript
// worker. (Node 20 ignores `--import` in a Worker's execArgv, so the loader is registered here.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
