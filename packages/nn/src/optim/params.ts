/** Named parameters and their resolution into param groups (per-group weight decay and lr multiplier). */
import * as tf from '@tensorflow/tfjs';

/** What Module.namedParameters() returns: dotted names paired with their variables. */
export type NamedParameters = ReadonlyArray<readonly [string, tf.Variable]>;

/** Selects parameters by name (RegExp tested against the dotted name) or by a predicate. */
export type ParamMatcher = RegExp | ((name: string, variable: tf.Variable) => boolean);

/** A param group: the first rule whose `match` accepts a parameter claims it. */
export interface ParamGroupRule {
  /** Label shown by paramGroups() and in errors. */
  name: string;
  match: ParamMatcher;
  /** Overrides the optimizer's weightDecay for this group. */
  weightDecay?: number;
  /** Multiplies the step's learning rate for this group (e.g. 0.1 for a pretrained backbone). */
  lrScale?: number;
}

export interface ResolvedGroup {
  name: string;
  weightDecay: number;
  lrScale: number;
  params: string[];
}

export interface ResolvedParam {
  name: string;
  variable: tf.Variable;
  group: ResolvedGroup;
}

/** Name of the group that takes every parameter no rule claims. */
export const DEFAULT_GROUP = 'default';

/** Names of embedding/norm parameters: `*emb*` (embed, pos_emb, time_emb), `*norm*`, GPT-2's wte/wpe. */
export const NO_DECAY_NAME = /emb|norm|(^|\.)(wte|wpe)(\.|$)/i;

/**
 * The usual no-decay set: rank < 2 tensors (biases, LayerNorm/RMSNorm gains and shifts) and names matching
 * NO_DECAY_NAME (embedding tables are rank 2, so they are caught by name).
 */
export function isNoDecayParam(name: string, variable: tf.Variable): boolean {
  return variable.rank < 2 || NO_DECAY_NAME.test(name);
}

/** A ready-made rule: no weight decay for biases, norms and embeddings (isNoDecayParam). */
export function noDecayRule(match: ParamMatcher = isNoDecayParam): ParamGroupRule {
  return { name: 'no_decay', match, weightDecay: 0 };
}

export function checkNonNegative(owner: string, field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${owner}: ${field} must be a finite number >= 0 (got ${value})`);
  }
}

function matches(matcher: ParamMatcher, name: string, variable: tf.Variable): boolean {
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0; // a /g or /y RegExp keeps state between test() calls
    return matcher.test(name);
  }
  return matcher(name, variable);
}

/** Validates names/variables and assigns each parameter to its group, in the given order. */
export function resolveParams(
  owner: string,
  params: NamedParameters,
  rules: readonly ParamGroupRule[],
  defaultWeightDecay: number,
): { params: ResolvedParam[]; groups: ResolvedGroup[] } {
  if (!Array.isArray(params)) throw new TypeError(`${owner}: params must be an array of [name, tf.Variable]`);
  const groups: ResolvedGroup[] = [];
  const seenGroups = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    if (!rule || typeof rule.name !== 'string' || rule.name === '') {
      throw new TypeError(`${owner}: groups[${i}].name must be a non-empty string`);
    }
    if (seenGroups.has(rule.name) || rule.name === DEFAULT_GROUP) {
      throw new Error(`${owner}: duplicate param group name "${rule.name}"`);
    }
    seenGroups.add(rule.name);
    if (!(rule.match instanceof RegExp) && typeof rule.match !== 'function') {
      throw new TypeError(`${owner}: group "${rule.name}".match must be a RegExp or a predicate`);
    }
    const weightDecay = rule.weightDecay ?? defaultWeightDecay;
    const lrScale = rule.lrScale ?? 1;
    checkNonNegative(owner, `group "${rule.name}".weightDecay`, weightDecay);
    checkNonNegative(owner, `group "${rule.name}".lrScale`, lrScale);
    groups.push({ name: rule.name, weightDecay, lrScale, params: [] });
  }
  const fallback: ResolvedGroup = {
    name: DEFAULT_GROUP,
    weightDecay: defaultWeightDecay,
    lrScale: 1,
    params: [],
  };

  const resolved: ResolvedParam[] = [];
  const byName = new Set<string>();
  const byVariable = new Map<tf.Variable, string>();
  for (const [i, entry] of params.entries()) {
    const [name, variable] = entry ?? [];
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`${owner}: params[${i}] has no name (expected [name, tf.Variable])`);
    }
    if (!(variable instanceof tf.Variable)) {
      throw new TypeError(`${owner}: parameter "${name}" is not a tf.Variable`);
    }
    if (byName.has(name)) throw new Error(`${owner}: duplicate parameter name "${name}"`);
    const alias = byVariable.get(variable);
    if (alias !== undefined) {
      throw new Error(
        `${owner}: parameters "${alias}" and "${name}" are the same variable (it would be updated twice)`,
      );
    }
    if (variable.dtype !== 'float32') {
      throw new TypeError(
        `${owner}: parameter "${name}" has dtype ${variable.dtype}; only float32 is optimized`,
      );
    }
    byName.add(name);
    byVariable.set(variable, name);
    const ruleIndex = rules.findIndex((rule) => matches(rule.match, name, variable));
    const group = ruleIndex >= 0 ? groups[ruleIndex] : fallback;
    group.params.push(name);
    resolved.push({ name, variable, group });
  }
  return { params: resolved, groups: [...groups, fallback] };
}
