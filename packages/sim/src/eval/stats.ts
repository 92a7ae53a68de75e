/**
 * Wilson score interval for a binomial proportion (default 95 %, z = 1.959964). Better than the normal
 * approximation at small N and near 0 % / 100 %, which is where policy success rates live.
 */
export function wilsonInterval(successes: number, n: number, z = 1.959964): [number, number] {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`wilsonInterval: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n)
    throw new Error(`wilsonInterval: successes must be an integer in [0, n], got ${successes}`);
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Exact McNemar test (two-sided) for paired binary outcomes: under H0 the discordant pairs split
 * Binomial(b + c, 1/2), b = Fail→Success and c = Success→Fail. p = min(1, 2·P[X ≤ min(b, c)]); concordant
 * pairs carry no information. This is the sign test on the per-episode differences.
 */
export function exactMcNemar(b: number, c: number): number {
  for (const [name, v] of [
    ['b', b],
    ['c', c],
  ] as const)
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`exactMcNemar: ${name} must be a non-negative integer, got ${v}`);
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // P[X ≤ k] for X ~ Bin(n, 1/2), summed in log space (n can be hundreds).
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}
