/**
 * Test hygiene for every package: tfjs leak checks inside kernels (IS_TEST), the `native` backend as the
 * default (set CORE_TENSORS_TEST_BACKEND=cpu to run a suite on the pure-JS backend), and a global check
 * that no test leaves tensors behind.
 */

import { selectBackend } from '@anchor-refine/core-tensors';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';

let before = 0;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  const want = (process.env.CORE_TENSORS_TEST_BACKEND ?? 'native') as 'native' | 'cpu';
  await selectBackend(want);
});

beforeEach(() => {
  before = tf.memory().numTensors;
});

afterEach((ctx) => {
  const after = tf.memory().numTensors;
  // A failing test may leave tensors behind; report its own failure, not a leak.
  if (ctx.task.result?.state === 'fail') return;
  expect(after, `tensor leak in "${ctx.task.name}": ${after - before} tensors left`).toBe(before);
});
