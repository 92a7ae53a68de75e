/**
 * Golden fixtures written by the reference scripts in tools/fixtures/ (a folder with `inputs.safetensors`
 * and `expected.safetensors`), and the one fp32 comparison rule both reference tests use.
 */
import { join } from 'node:path';
import { loadSafetensors, toTensors } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** fp32 budget: max |ours − ref| ≤ TOL · max(1, max |ref|). */
export const GOLDEN_TOL = 1e-4;

export async function loadGolden(
  dir: string,
): Promise<{ inputs: Map<string, tf.Tensor>; expected: Map<string, tf.Tensor> }> {
  const read = async (f: string) => toTensors((await loadSafetensors(join(dir, f))).tensors);
  return { inputs: await read('inputs.safetensors'), expected: await read('expected.safetensors') };
}

/** Asserts `ours` matches `expected[name]` within GOLDEN_TOL and prints the error under `label`. */
export function expectGolden(
  label: string,
  expected: Map<string, tf.Tensor>,
  name: string,
  ours: tf.Tensor,
): void {
  const ref = expected.get(name);
  expect(ref, `${name} missing from the fixture`).toBeDefined();
  expect(ours.shape).toEqual(ref!.shape);
  const [err, scale] = tf.tidy(() => [
    tf.max(tf.abs(tf.sub(ours, ref!))).dataSync()[0],
    Math.max(1, tf.max(tf.abs(ref!)).dataSync()[0]),
  ]);
  // Printed so the actual agreement is visible in the test log.
  console.log(`${label} reference ${name}: max abs err ${err.toExponential(2)} (scale ${scale.toFixed(2)})`);
  expect(err, `${name}: max abs err ${err} vs ${GOLDEN_TOL * scale}`).toBeLessThanOrEqual(GOLDEN_TOL * scale);
}
