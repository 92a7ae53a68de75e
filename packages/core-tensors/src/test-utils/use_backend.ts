import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll } from 'vitest';
import { type BackendName, selectBackend } from '../backend.js';

/**
 * Runs the enclosing describe block on backend `name`: selects it before the block's tests, and after them
 * runs `cleanup` (e.g. resetting the thread count) and puts back the backend that was active before.
 * Returns a getter for the selected backend (valid once the block's beforeAll has run).
 */
export function useBackend(name: BackendName, cleanup?: () => void): () => MathBackendCPU {
  let previous = '';
  let backend: MathBackendCPU | undefined;
  beforeAll(async () => {
    previous = tf.getBackend();
    await selectBackend(name);
    backend = tf.backend() as MathBackendCPU;
  });
  afterAll(async () => {
    cleanup?.();
    await tf.setBackend(previous);
  });
  return () => {
    if (!backend) throw new Error(`useBackend('${name}'): the backend is selected in beforeAll`);
    return backend;
  };
}
