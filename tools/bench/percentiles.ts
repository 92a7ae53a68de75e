/** Nearest-rank quantiles of timing samples, shared by the benchmark scripts. */

/** The sample at rank floor(q·n) of the sorted values (q in [0, 1]). */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export function percentiles(times: readonly number[]): { p50: number; p99: number; n: number } {
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), n: times.length };
}
