/**
 * Shared machinery of the optimizers: parameter registry and groups, gradient validation, per-parameter
 * state slots (moments, momentum buffers) with checkpointable state dicts, and tensor lifetime.
 */
import * as tf from '@tensorflow/tfjs';
import { formatShape, type GradMap, gradEntries, sameShape, type TensorMap } from './grads.js';
import {
  checkNonNegative,
  type NamedParameters,
  type ParamGroupRule,
  type ResolvedGroup,
  type ResolvedParam,
  resolveParams,
} from './params.js';

/** Per-parameter optimizer state: its own step count (bias correction) and named slot tensors. */
export interface ParamState {
  step: number;
  slots: tf.Tensor[];
}

/** Optimizer state as flat tensors (safetensors-ready). Keys: `step`, `step/<param>`, `<slot>/<param>`. */
export type OptimizerStateDict = Map<string, tf.Tensor>;

/** Read-only view of one param group after resolution. */
export interface ParamGroupInfo {
  readonly name: string;
  readonly weightDecay: number;
  readonly lrScale: number;
  readonly params: readonly string[];
}

export interface OptimizerStepOptions {
  /** Every gradient is multiplied by this before the update (default 1; e.g. a clip coefficient ≤ 1). */
  gradScale?: number;
}

/** Key of the global step counter in a state dict. */
export const GLOBAL_STEP_KEY = 'step';

export abstract class Optimizer {
  /** Number of step() calls so far (restored by loadStateDict). */
  get stepCount(): number {
    return this.globalStep;
  }

  protected abstract readonly slotNames: readonly string[];

  private readonly params = new Map<string, ResolvedParam>();
  private readonly groups: ResolvedGroup[];
  private readonly state = new Map<string, ParamState>();
  private globalStep = 0;
  private disposed = false;

  protected constructor(
    protected readonly owner: string,
    params: NamedParameters,
    protected readonly defaultLr: number,
    rules: readonly ParamGroupRule[],
    defaultWeightDecay: number,
  ) {
    checkNonNegative(owner, 'lr', defaultLr);
    checkNonNegative(owner, 'weightDecay', defaultWeightDecay);
    const resolved = resolveParams(owner, params, rules, defaultWeightDecay);
    for (const p of resolved.params) this.params.set(p.name, p);
    this.groups = resolved.groups;
  }

  /**
   * Computes the new slot tensors and assigns the new parameter value, with the gradient taken as
   * gradScale · grad. Runs inside tf.tidy. Returning the current slot tensors (updated in place) is allowed.
   */
  protected abstract update(
    param: ResolvedParam,
    grad: tf.Tensor,
    state: ParamState,
    lr: number,
    gradScale: number,
  ): tf.Tensor[];

  /**
   * One optimization step. Parameters without a gradient are left alone (as in PyTorch when `.grad` is
   * None), as are frozen ones (`variable.trainable === false`). Every gradient is validated before any
   * parameter changes. `lr` defaults to the constructor's; each group multiplies it by its lrScale.
   * The caller keeps ownership of `grads`. `options.gradScale` multiplies every gradient first (the
   * coefficient of clipGradScale: clipping fused into the update, no scaled copies of the gradients).
   */
  step(grads: GradMap, lr: number = this.defaultLr, options: OptimizerStepOptions = {}): void {
    this.assertLive('step');
    checkNonNegative(`${this.owner}.step`, 'lr', lr);
    const gradScale = options.gradScale ?? 1;
    if (typeof gradScale !== 'number' || !Number.isFinite(gradScale) || gradScale < 0) {
      throw new RangeError(`${this.owner}.step: gradScale must be a finite number >= 0 (got ${gradScale})`);
    }
    const work: Array<[ResolvedParam, tf.Tensor]> = [];
    for (const [name, grad] of gradEntries(`${this.owner}.step`, grads)) {
      const param = this.params.get(name);
      if (param === undefined) {
        throw new Error(`${this.owner}.step: gradient for unknown parameter "${name}"`);
      }
      if (!sameShape(grad.shape, param.variable.shape)) {
        throw new Error(
          `${this.owner}.step: gradient for "${name}" has shape ${formatShape(grad.shape)} but the parameter has shape ${formatShape(param.variable.shape)}`,
        );
      }
      if (grad.dtype !== 'float32') {
        throw new TypeError(
          `${this.owner}.step: gradient for "${name}" has dtype ${grad.dtype}, expected float32`,
        );
      }
      if (param.variable.trainable) work.push([param, grad]);
    }
    this.globalStep += 1;
    for (const [param, grad] of work) {
      let st = this.state.get(param.name);
      if (st === undefined) {
        const shape = param.variable.shape;
        st = { step: 0, slots: this.slotNames.map(() => tf.keep(tf.zeros(shape, 'float32'))) };
        this.state.set(param.name, st);
      }
      st.step += 1;
      const state = st;
      const next = tf.tidy(() => this.update(param, grad, state, lr * param.group.lrScale, gradScale));
      for (const old of state.slots) if (!next.includes(old)) old.dispose();
      state.slots = next;
    }
  }

  /** The resolved param groups (the last one, "default", takes parameters no rule claimed). */
  paramGroups(): ParamGroupInfo[] {
    return this.groups.map((g) => ({ ...g, params: [...g.params] }));
  }

  /**
   * The state as new tensors the caller owns (dispose them, e.g. after saving): `step` (int32 scalar), and
   * for every parameter that has been stepped `step/<name>` (int32 scalar) and `<slot>/<name>` (float32).
   */
  stateDict(): OptimizerStateDict {
    this.assertLive('stateDict');
    const out: OptimizerStateDict = new Map();
    out.set(GLOBAL_STEP_KEY, tf.scalar(this.globalStep, 'int32'));
    for (const name of this.params.keys()) {
      const st = this.state.get(name);
      if (st === undefined) continue;
      out.set(`${GLOBAL_STEP_KEY}/${name}`, tf.scalar(st.step, 'int32'));
      this.slotNames.forEach((slot, i) => {
        out.set(`${slot}/${name}`, tf.clone(st.slots[i]));
      });
    }
    return out;
  }

  /**
   * Replaces the whole state with `dict` (as produced by stateDict(), possibly via safetensors). Parameters
   * absent from it start fresh. Validated before anything changes: an unknown or extra key, a partially
   * present parameter (missing key), or a shape/dtype mismatch is an error naming the key. The caller
   * keeps ownership of `dict`.
   */
  loadStateDict(dict: TensorMap): void {
    this.assertLive('loadStateDict');
    const owner = `${this.owner}.loadStateDict`;
    const kinds = new Set<string>([GLOBAL_STEP_KEY, ...this.slotNames]);
    let globalStep: number | undefined;
    const perParam = new Map<string, Map<string, tf.Tensor>>();
    for (const [key, tensor] of gradEntries(owner, dict)) {
      if (key === GLOBAL_STEP_KEY) {
        globalStep = readCount(owner, key, tensor);
        continue;
      }
      const slash = key.indexOf('/');
      const kind = slash < 0 ? key : key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (slash < 0 || !kinds.has(kind)) {
        throw new Error(
          `${owner}: unexpected key "${key}" (expected "step", "step/<param>" or one of ${this.slotNames.map((s) => `"${s}/<param>"`).join(', ') || 'no slots'})`,
        );
      }
      const param = this.params.get(name);
      if (param === undefined) throw new Error(`${owner}: key "${key}" names unknown parameter "${name}"`);
      if (kind !== GLOBAL_STEP_KEY) {
        if (!sameShape(tensor.shape, param.variable.shape)) {
          throw new Error(
            `${owner}: "${key}" has shape ${formatShape(tensor.shape)} but parameter "${name}" has shape ${formatShape(param.variable.shape)}`,
          );
        }
        if (tensor.dtype !== 'float32')
          throw new TypeError(`${owner}: "${key}" has dtype ${tensor.dtype}, expected float32`);
      }
      const slots = perParam.get(name) ?? new Map<string, tf.Tensor>();
      perParam.set(name, slots);
      slots.set(kind, tensor);
    }
    if (globalStep === undefined) throw new Error(`${owner}: missing key "${GLOBAL_STEP_KEY}"`);
    const next = new Map<string, { step: number; slots: tf.Tensor[] }>();
    for (const [name, slots] of perParam) {
      for (const kind of kinds) {
        if (!slots.has(kind))
          throw new Error(`${owner}: missing key "${kind}/${name}" (other state of "${name}" is present)`);
      }
      const step = readCount(owner, `${GLOBAL_STEP_KEY}/${name}`, slots.get(GLOBAL_STEP_KEY)!);
      next.set(name, { step, slots: this.slotNames.map((slot) => slots.get(slot)!) });
    }
    // Validated: commit.
    this.clearState();
    this.globalStep = globalStep;
    for (const [name, st] of next) {
      this.state.set(name, { step: st.step, slots: st.slots.map((t) => tf.keep(tf.clone(t))) });
    }
  }

  /** Frees the optimizer state; the optimizer cannot be used afterwards. Parameters are not touched. */
  dispose(): void {
    if (this.disposed) return;
    this.clearState();
    this.disposed = true;
  }

  private clearState(): void {
    for (const st of this.state.values()) for (const t of st.slots) t.dispose();
    this.state.clear();
  }

  private assertLive(method: string): void {
    if (this.disposed) throw new Error(`${this.owner}.${method}: the optimizer has been disposed`);
  }
}

function readCount(owner: string, key: string, tensor: tf.Tensor): number {
  if (tensor.size !== 1)
    throw new Error(`${owner}: "${key}" must be a scalar (got shape ${formatShape(tensor.shape)})`);
  const value = tensor.dataSync()[0];
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${owner}: "${key}" must be a non-negative integer step count (got ${value})`);
  }
  return value;
}
