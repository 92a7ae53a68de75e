/**
 * One optimisation step of a phase: loss and gradients of the phase's trainable variables, global-norm
 * clipping, the optimizer update. Metrics come back as numbers (one sync at the end of the step).
 */
import { clipGradNorm, gradsByParamName, type Optimizer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { type BatchTensors, disposeBatchTensors, type PolicyBatch } from './batch.js';
import type { ForwardResult, Phase } from './policy.js';

/** The training surface a policy needs for `trainStep` (AnchorRefinePolicy, XvlaAnchorRefinePolicy). */
export interface TrainablePolicy {
  trainableParameters(): tf.Variable[];
  namedParameters(): Array<[string, tf.Variable]>;
  train(mode?: boolean): unknown;
  toTensors(batch: PolicyBatch): BatchTensors;
  forward(batch: PolicyBatch | BatchTensors, phase: Phase): ForwardResult;
}

export interface TrainStepOptions {
  /** Max global gradient norm (GR-MG: 1.0); null = no clipping. */
  clipNorm?: number | null;
  /** Learning rate of this step (from a schedule); default the optimizer's. */
  lr?: number;
}

export interface TrainStepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

export function trainStep(
  policy: TrainablePolicy,
  optimizer: Optimizer,
  batch: PolicyBatch | BatchTensors,
  phase: Phase,
  { clipNorm = 1, lr }: TrainStepOptions = {},
): TrainStepResult {
  const vars = policy.trainableParameters();
  if (vars.length === 0)
    throw new Error(`trainStep: nothing to train in phase '${phase}' (call policy.setPhase first)`);
  policy.train();
  const t = 'obs' in batch ? batch : policy.toTensors(batch);
  let metrics: Record<string, tf.Scalar> = {};
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = policy.forward(t, phase);
      metrics = Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, tf.keep(v)]));
      return out.loss;
    }, vars);
    const byName = gradsByParamName(policy.namedParameters(), grads);
    const clip = clipGradNorm(byName, clipNorm ?? Number.MAX_VALUE);
    optimizer.step(clip.grads, lr);
    const result: TrainStepResult = {
      loss: value.dataSync()[0],
      gradNorm: clip.totalNorm,
      metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, v.dataSync()[0]])),
    };
    tf.dispose([value, ...Object.values(grads), ...clip.grads.values()]);
    return result;
  } finally {
    tf.dispose(Object.values(metrics));
    if (t !== batch) disposeBatchTensors(t);
  }
}
