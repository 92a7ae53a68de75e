import { isNumeric, numel } from './features.js';
import type { LeRobotDataset } from './reader.js';
import { aggregateStats, computeStats, type DatasetStats } from './stats.js';

/**
 * Recomputes stats of numeric features from the data in memory: per episode, then merged with LeRobot's
 * rules (so quantiles are the same conservative envelope LeRobot ≥0.4 writes). Use it for v2.1 datasets
 * (no quantiles) or when meta/stats.json is missing; pass the result as `SamplerConfig.stats`.
 */
export function computeDatasetStats(ds: LeRobotDataset, keys?: string[]): DatasetStats {
  const out: DatasetStats = {};
  const want = keys ?? Object.keys(ds.features).filter((k) => isNumeric(ds.features[k]));
  for (const k of want) {
    const d = numel(ds.features[k].shape);
    const col = ds.column(k);
    out[k] = aggregateStats(
      ds.episodes.map((e) => computeStats(col.subarray(e.from * d, e.to * d), e.length, d)),
    );
  }
  return out;
}
