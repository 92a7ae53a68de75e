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
