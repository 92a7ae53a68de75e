/**
 * One optimisation step of a phase: loss and gradients of the phase's trainable variables, global-norm
 * clipping, the optimizer update. Metrics come back as numbers (one sync at the end of the step).
 * Only what trains runs in training mode: every module whose parameters are all frozen (phase 2's backbone
 * and anchor, a frozen pretrained encoder) runs in eval mode, so e.g. phase 2's targets come from the same
 * dropout-free anchor inference uses.
 */
import { gradientStep, type Module, type Optimizer } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';
import { type BatchTensors, disposeBatchTensors, type PolicyBatch } from './batch.js';
import type { ForwardResult, Phase } from './policy.js';

/** The training surface a policy needs for `trainStep` (AnchorRefinePolicy, XvlaAnchorRefinePolicy). */
export interface TrainablePolicy extends Module {
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

/**
 * Training mode on `module` except below it where everything is frozen: a submodule that holds parameters,
 * none of them trainable, goes to eval mode with all its descendants. A parameterless submodule (dropout)
 * follows its parent.
 */
export function trainUnfrozen(module: Module): void {
  const params = module.parameters();
  if (params.length > 0 && params.every((v) => !v.trainable)) {
    module.eval();
    return;
  }
  module.training = true;
  for (const [, child] of module.namedChildren()) trainUnfrozen(child);
}

export function trainStep(
  policy: TrainablePolicy,
  optimizer: Optimizer,
  batch: PolicyBatch | BatchTensors,
  phase: Phase,
  { clipNorm = 1, lr }: TrainStepOptions = {},
): TrainStepResult {
  const trainable = new Set(policy.trainableParameters());
  if (trainable.size === 0)
    throw new Error(`trainStep: nothing to train in phase '${phase}' (call policy.setPhase first)`);
  const named = policy.namedParameters().filter(([, v]) => trainable.has(v));
  trainUnfrozen(policy);
  const t = 'obs' in batch ? batch : policy.toTensors(batch);
  let metrics: Record<string, tf.Scalar> = {};
  try {
    const { loss, gradNorm } = gradientStep(
      () => {
        const out = policy.forward(t, phase);
        // clones (no kernel: they share the data) outlive gradientStep's disposal of the loss, which a
        // metric may be
        metrics = Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, tf.keep(v.clone())]));
        return out.loss;
      },
      named,
      optimizer,
      { clipNorm, lr },
    );
    return {
      loss,
      gradNorm,
      metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, v.dataSync()[0]])),
    };
  } finally {
    tf.dispose(Object.values(metrics));
    if (t !== batch) disposeBatchTensors(t);
  }
}
