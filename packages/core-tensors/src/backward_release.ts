/**
 * Frees memory during a backward pass as soon as nothing can use it any more, the way PyTorch's autograd
 * does. tfjs keeps everything until the end: every kernel's saved tensors and the gradient of every
 * intermediate tensor live until `tf.grads` / `tf.variableGrads` returns, so the backward pass of a
 * `small` phase-1 step held 51 MB on top of the forward's 70 MB of saved activations.
 *
 * With this installed, after the last input gradient of a tape node has been computed:
 *   - the node's saved tensors are disposed (tfjs disposes them at the end anyway when the backward is
 *     not itself taped, i.e. gradient depth 0; that is the only case this touches);
 *   - the gradients of the node's outputs (its dys) are disposed, and so are earlier partial gradients of
 *     them that tfjs summed into a new tensor and left behind.
 * A gradient is never disposed when someone can still see it: the caller's `dy`, a gradient of one of the
 * requested `xs` (or anything returned as such), a tensor this node returned as one of its own input
 * gradients, or a tensor returned for two inputs. Those are left to tfjs's end-of-backward cleanup as
 * before. The values computed do not change; only when memory is released does.
 */
import * as tf from '@tensorflow/tfjs';

type GradFns = Record<string, () => tf.Tensor>;

interface TapeNodeLike {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => GradFns;
}

/** The parts of tfjs's Engine this touches (not in its public types). */
interface EngineInternals {
  backendName: string;
  state: { gradientDepth: number; activeTape: TapeNodeLike[] | null };
  addTapeNode(...args: unknown[]): void;
  gradients(
    f: () => tf.Tensor,
    xs: tf.Tensor[],
    dy?: tf.Tensor,
    allowNoGradients?: boolean,
  ): { value: tf.Tensor; grads: tf.Tensor[] };
}

/** One gradients() call in progress: what must survive it, and the partial gradients made per tensor. */
interface Backward {
  xsIds: Set<number>;
  /** Tensors that must not be disposed early (the caller's dy, gradients of xs). */
  kept: WeakSet<tf.Tensor>;
  /** How often each tensor was returned as an input gradient (twice: shared by two map entries). */
  produced: WeakMap<tf.Tensor, number>;
  /** Input gradients returned for a tensor id, not yet consumed by the node that made the tensor. */
  pending: Map<number, tf.Tensor[]>;
}

const installed = new WeakSet<object>();
let enabled = true;

/** Turns early release off or on (tests compare both; it is on once installed). Returns the old state. */
export function setBackwardRelease(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Installs early release on tfjs's engine for backward passes on `backendName` (idempotent). */
export function installBackwardRelease(backendName: string): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (installed.has(engine)) return;
  installed.add(engine);
  const stack: Backward[] = [];

  const gradients = engine.gradients.bind(engine);
  engine.gradients = (f, xs, dy, allowNoGradients) => {
    const run: Backward = {
      xsIds: new Set(xs.map((x) => x.id)),
      kept: new WeakSet(dy ? [dy] : []),
      produced: new WeakMap(),
      pending: new Map(),
    };
    stack.push(run);
    try {
      return gradients(f, xs, dy, allowNoGradients);
    } finally {
      stack.pop();
    }
  };

  const addTapeNode = engine.addTapeNode.bind(engine);
  engine.addTapeNode = (...args: unknown[]) => {
    addTapeNode(...args);
    const tape = engine.state.activeTape;
    const node = tape?.[tape.length - 1];
    const gradient = node?.gradient;
    if (!node || !gradient) return;
    node.gradient = (dys) => {
      const fns = gradient(dys);
      const run = stack[stack.length - 1];
      // Only an untaped backward (depth 0) of the innermost gradients() call on this backend: a taped one
      // (higher-order gradients) needs its saved tensors and gradients for the outer backward.
      if (!enabled || !run || engine.state.gradientDepth !== 0 || engine.backendName !== backendName)
        return fns;
      const names = Object.keys(node.inputs).filter((name) => name in fns);
      let remaining = names.length;
      const mine: tf.Tensor[] = [];
      const wrapped: GradFns = { ...fns };
      for (const name of names) {
        const fn = fns[name];
        wrapped[name] = () => {
          const dx = fn();
          mine.push(dx);
          const x = node.inputs[name];
          run.produced.set(dx, (run.produced.get(dx) ?? 0) + 1);
          if (run.xsIds.has(x.id)) run.kept.add(dx);
          else {
            const list = run.pending.get(x.id);
            if (list) list.push(dx);
            else run.pending.set(x.id, [dx]);
          }
          remaining -= 1;
          if (remaining === 0) release(run, node, dys, mine);
          return dx;
        };
      }
      if (remaining === 0) release(run, node, dys, mine);
      return wrapped;
    };
  };
}

/** The node's input gradients are all computed: free its saved tensors and its outputs' gradients. */
function release(run: Backward, node: TapeNodeLike, dys: Array<tf.Tensor | null>, mine: tf.Tensor[]): void {
  for (const t of node.saved ?? []) t.dispose();
  node.saved = [];
  node.outputs.forEach((o, i) => {
    const dy = dys[i];
    const partials = run.pending.get(o.id) ?? [];
    run.pending.delete(o.id);
    if (run.xsIds.has(o.id)) {
      if (dy) run.kept.add(dy); // the caller asked for this gradient
      return;
    }
    for (const t of dy ? [dy, ...partials] : partials) {
      if (run.kept.has(t) || mine.includes(t) || (run.produced.get(t) ?? 0) > 1) continue;
      t.dispose();
    }
  });
}
