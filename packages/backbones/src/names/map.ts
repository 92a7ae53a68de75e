/**
 * Checkpoint name maps: a list of (official name ↔ our state-dict name, layout transform) entries, and
 * safetensors load / save through them. Transforms (official → ours; save applies the inverse):
 *   none       same layout
 *   transpose  2-D [a, b] → [b, a] (GPT-2 Conv1D [in, out] → Linear [out, in]; LeRobot image_projection)
 *   reshape    same values, our shape (conv kernel [o, c, k, k] → Linear over conv-ordered patches [o, c·k·k])
 *   tileRows   [1, d] → [n, d] by repeating the row (one GR-1 action query → H chunk queries); save keeps row 0
 */
import { loadSafetensors, type Module, saveSafetensors, toTensors } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';

export type NameTransform = 'none' | 'transpose' | 'reshape' | 'tileRows';

export interface NameEntry {
  official: string;
  ours: string;
  transform: NameTransform;
  /** Official shape; needed to save 'reshape' and 'tileRows' entries. */
  officialShape?: number[];
}

export interface NameMap {
  entries: NameEntry[];
  /** Official names with no counterpart here (unused buffers, heads we do not build): skipped on load. */
  ignore: RegExp[];
  /** Alternative official names of one tensor (tied weights a checkpoint may store under either name). */
  aliases?: Record<string, string[]>;
}

export interface OfficialLoadReport {
  /** Our state-dict names the checkpoint filled. */
  loaded: string[];
  /** Our names the map covers but the checkpoint lacked. */
  missing: string[];
  /** Checkpoint names neither mapped nor ignored. */
  unexpected: string[];
  /** Checkpoint names matched by `ignore`. */
  ignored: string[];
}

/** One official tensor → our layout (the caller owns the result). */
export function officialToOurs(e: NameEntry, t: tf.Tensor, ourShape: readonly number[]): tf.Tensor {
  const fail = (why: string) =>
    new Error(`name map: ${e.official} [${t.shape.join(', ')}] → ${e.ours} [${ourShape.join(', ')}]: ${why}`);
  return tf.tidy(() => {
    let out: tf.Tensor;
    if (e.transform === 'transpose') {
      if (t.rank !== 2) throw fail('transpose needs a 2-D tensor');
      out = tf.transpose(t); // [a, b] → [b, a]
    } else if (e.transform === 'reshape') {
      if (t.size !== ourShape.reduce((a, b) => a * b, 1)) throw fail('element counts differ');
      out = tf.reshape(t, [...ourShape]); // row-major values kept
    } else if (e.transform === 'tileRows') {
      if (t.rank !== 2 || t.shape[0] !== 1) throw fail('tileRows needs a [1, d] tensor');
      out = tf.tile(t, [ourShape[0], 1]); // [1, d] → [n, d]
    } else out = tf.clone(t);
    if (!tf.util.arraysEqual(out.shape, [...ourShape])) throw fail('shape mismatch after the transform');
    return out;
  });
}

/** One of our tensors → the official layout (the caller owns the result). */
export function oursToOfficial(e: NameEntry, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (e.transform === 'transpose') return tf.transpose(t); // [b, a] → [a, b]
    if (e.transform === 'none') return tf.clone(t);
    if (!e.officialShape) throw new Error(`name map: ${e.ours} → ${e.official} needs officialShape to save`);
    if (e.transform === 'reshape') return tf.reshape(t, e.officialShape);
    return tf.slice(t, [0, 0], [1, t.shape[1] ?? 0]); // tileRows: keep row 0 → [1, d]
  });
}

/**
 * Copies official tensors into `module` through `map`. `strict`: every mapped name must be present and
 * nothing unexpected may remain (ignored names are fine). Shapes are checked; nothing is assigned on error.
 */
export function loadOfficialState(
  module: Module,
  map: NameMap,
  official: ReadonlyMap<string, tf.Tensor>,
  { strict = true }: { strict?: boolean } = {},
): OfficialLoadReport {
  const own = module.stateDict();
  const byOfficial = new Map(map.entries.map((e) => [e.official, e]));
  const report: OfficialLoadReport = { loaded: [], missing: [], unexpected: [], ignored: [] };
  const aliasOf = new Map<string, string>();
  for (const [primary, alts] of Object.entries(map.aliases ?? {}))
    for (const a of alts) aliasOf.set(a, primary);
  for (const name of official.keys()) {
    if (byOfficial.has(name)) continue;
    if (aliasOf.has(name)) {
      report.ignored.push(name); // read below when its primary name is absent
      continue;
    }
    if (map.ignore.some((r) => r.test(name))) report.ignored.push(name);
    else report.unexpected.push(name);
  }
  const converted = new Map<string, tf.Tensor>();
  try {
    for (const e of map.entries) {
      const mine = own.get(e.ours);
      if (!mine)
        throw new Error(
          `name map: our name '${e.ours}' (for ${e.official}) is not in the module; rebuild the map from the same config`,
        );
      const alt = (map.aliases?.[e.official] ?? []).find((a) => official.has(a));
      const t = official.get(e.official) ?? (alt === undefined ? undefined : official.get(alt));
      if (!t) {
        report.missing.push(e.ours);
        continue;
      }
      converted.set(e.ours, officialToOurs(e, t, mine.shape));
      report.loaded.push(e.ours);
    }
    if (strict && (report.missing.length || report.unexpected.length)) {
      throw new Error(
        `loadOfficialState: missing [${report.missing.join(', ')}], unexpected [${report.unexpected.join(', ')}] ` +
          '(pass strict: false to load what matches)',
      );
    }
    module.loadStateDict(converted, { strict: false });
    return report;
  } finally {
    tf.dispose([...converted.values()]);
  }
}

/** Our mapped tensors under their official names (the caller disposes them). */
export function officialState(
  module: Module,
  map: NameMap,
  prefixFilter?: (official: string) => boolean,
): Map<string, tf.Tensor> {
  const own = module.stateDict();
  const out = new Map<string, tf.Tensor>();
  for (const e of map.entries) {
    if (prefixFilter && !prefixFilter(e.official)) continue;
    const t = own.get(e.ours);
    if (!t) throw new Error(`officialState: our name '${e.ours}' is not in the module`);
    out.set(e.official, oursToOfficial(e, t));
  }
  return out;
}

/** Reads a safetensors file written with official names into `module`. */
export async function loadOfficialSafetensors(
  path: string,
  module: Module,
  map: NameMap,
  opts: { strict?: boolean } = {},
): Promise<OfficialLoadReport> {
  const { tensors } = await loadSafetensors(path);
  const ts = toTensors(tensors);
  try {
    return loadOfficialState(module, map, ts, opts);
  } finally {
    tf.dispose([...ts.values()]);
  }
}

/** Writes `module`'s mapped tensors to `path` under their official names. */
export async function saveOfficialSafetensors(path: string, module: Module, map: NameMap): Promise<void> {
  const state = officialState(module, map);
  try {
    await saveSafetensors(path, state);
  } finally {
    tf.dispose([...state.values()]);
  }
}
