/**
 * Module: the PyTorch nn.Module pattern on tfjs. A module owns tf.Variables (parameters and buffers) and
 * child modules, registered by name; walking the tree yields dotted state-dict names such as
 * `blocks.0.attn.q_proj.weight`, which match the PyTorch checkpoints the layers mirror.
 *
 * tfjs variable names are process-global, so each module instance gets a unique scope (`Linear_7`) and
 * its variables are named `<scope>/<name>`; the dotted state-dict name comes from the tree, not from
 * the variable, because a child is built before it is attached to its parent.
 */
import * as tf from '@tensorflow/tfjs';

let nextInstanceId = 0;

export interface ParameterOptions {
  /** false: excluded from tf.variableGrads / optimizer updates until unfreeze(). Default true. */
  trainable?: boolean;
}

export interface BufferOptions {
  /** false: kept out of stateDict() (e.g. a cached table that is recomputed). Default true. */
  persistent?: boolean;
}

export interface LoadStateDictOptions {
  /** true: missing or unexpected keys are errors (PyTorch's default). Shape mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A tensor, or a function that builds one (called once; its result is disposed after copying). */
export type TensorSource = tf.Tensor | (() => tf.Tensor);

function checkName(kind: string, name: string): void {
  if (name.length === 0 || name.includes('.')) {
    throw new Error(`${kind} name must be non-empty and contain no '.', got '${name}'`);
  }
}

function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Module {
  /** Train/eval mode flag read by Dropout (and anything else mode-dependent). */
  training = true;
  /** Unique per instance; the prefix of every tf.Variable name this module creates. */
  readonly scope: string;

  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, { value: tf.Variable; persistent: boolean }>();
  private readonly children = new Map<string, Module>();

  constructor() {
    this.scope = `${this.constructor.name}_${nextInstanceId++}`;
  }

  private assertFree(name: string): void {
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.scope}: '${name}' is already registered`);
    }
  }

  private makeVariable(name: string, source: TensorSource, trainable: boolean): tf.Variable {
    const value = typeof source === 'function' ? source() : source;
    // tf.variable shares the tensor's buffer (ref-counted), so disposing a built value afterwards is safe.
    const v = tf.variable(value, trainable, `${this.scope}/${name}`);
    if (typeof source === 'function') value.dispose();
    return v;
  }

  /**
   * Creates a tf.Variable parameter `name` from a tensor (the caller keeps ownership of it) or a builder.
   * Returns the variable; keep it as a field for use in forward().
   */
  registerParameter(name: string, source: TensorSource, opts: ParameterOptions = {}): tf.Variable {
    checkName('parameter', name);
    this.assertFree(name);
    const v = this.makeVariable(name, source, opts.trainable ?? true);
    this.params.set(name, v);
    return v;
  }

  /** A non-trainable state tensor (PyTorch register_buffer): in stateDict(), never in parameters(). */
  registerBuffer(name: string, source: TensorSource, opts: BufferOptions = {}): tf.Variable {
    checkName('buffer', name);
    this.assertFree(name);
    const v = this.makeVariable(name, source, false);
    this.buffers.set(name, { value: v, persistent: opts.persistent ?? true });
    return v;
  }

  /** Attaches `child` under `name` (its parameters become `name.<param>`); returns the child. */
  registerModule<M extends Module>(name: string, child: M): M {
    checkName('module', name);
    this.assertFree(name);
    this.children.set(name, child);
    return child;
  }

  /** Direct children in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  /** This module ('') and every descendant, depth first, with dotted paths. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.children) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** Every parameter with its dotted state-dict name (own first, then children); shared ones once. */
  namedParameters(): Array<[string, tf.Variable]> {
    const seen = new Set<tf.Variable>();
    const out: Array<[string, tf.Variable]> = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, v] of m.params) {
        if (seen.has(v)) continue;
        seen.add(v);
        out.push([path ? `${path}.${name}` : name, v]);
      }
    }
    return out;
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Trainable parameters only (what an optimizer should be given, or tf.variableGrads will see). */
  trainableParameters(): tf.Variable[] {
    return this.parameters().filter((v) => v.trainable);
  }

  /** Persistent buffers with dotted names. */
  namedBuffers(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, b] of m.buffers) {
        if (b.persistent) out.push([path ? `${path}.${name}` : name, b.value]);
      }
    }
    return out;
  }

  /** Parameters then persistent buffers under their dotted names: the live variables, not copies. */
  stateDict(): Map<string, tf.Tensor> {
    return this.stateVariables();
  }

  private stateVariables(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies tensors into the matching variables (dtype-cast when needed; the caller keeps ownership of
   * `state`). Everything is validated before anything is assigned, so a failed load changes nothing.
   * Throws naming every missing / unexpected key (strict) and every shape mismatch.
   */
  loadStateDict(
    state: Map<string, tf.Tensor> | Record<string, tf.Tensor>,
    opts: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const { strict = true } = opts;
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateVariables();
    const missingKeys = [...own.keys()].filter((k) => !incoming.has(k));
    const unexpectedKeys = [...incoming.keys()].filter((k) => !own.has(k));
    const mismatches: string[] = [];
    for (const [k, v] of own) {
      const t = incoming.get(k);
      if (t && !tf.util.arraysEqual(t.shape, v.shape)) {
        mismatches.push(
          `size mismatch for ${k}: checkpoint has shape ${shapeStr(t.shape)}, model has ${shapeStr(v.shape)}`,
        );
      }
    }
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`Missing key(s): ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`Unexpected key(s): ${unexpectedKeys.join(', ')}`);
    problems.push(...mismatches);
    if (problems.length) {
      throw new Error(
        `loadStateDict(${this.scope}): ${problems.length} error(s):\n  ${problems.join('\n  ')}`,
      );
    }
    for (const [k, v] of own) {
      const t = incoming.get(k);
      if (!t) continue;
      // assign() refcounts the source buffer; the cast copy (if any) dies with the tidy.
      tf.tidy(() => v.assign(t.dtype === v.dtype ? t : tf.cast(t, v.dtype)));
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Sets Variable.trainable on every parameter (buffers stay frozen); tf.variableGrads honours it. */
  setTrainable(trainable: boolean): this {
    for (const v of this.parameters()) v.trainable = trainable;
    return this;
  }

  freeze(): this {
    return this.setTrainable(false);
  }

  unfreeze(): this {
    return this.setTrainable(true);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    // Straight recursion, no path strings: predictActionChunk sets eval mode around every call.
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Total element count of the parameters (optionally trainable ones only). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    const ps = opts.trainableOnly ? this.trainableParameters() : this.parameters();
    return ps.reduce((n, v) => n + v.size, 0);
  }

  /**
   * Tensors a module holds besides its variables and buffers (e.g. a cache): dispose() calls this on the
   * module and every descendant. Does nothing by default.
   */
  protected releaseResources(): void {}

  /** Disposes every variable of this module and its descendants (each once), and what releaseResources frees. */
  dispose(): void {
    const seen = new Set<tf.Variable>();
    for (const [, m] of this.namedModules()) {
      m.releaseResources();
      const vars = [...m.params.values(), ...[...m.buffers.values()].map((b) => b.value)];
      for (const v of vars) {
        if (seen.has(v) || v.isDisposed) continue;
        seen.add(v);
        v.dispose();
      }
    }
  }
}

/** An indexed list of modules, registered as '0', '1', … (PyTorch nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): M {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }

  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
