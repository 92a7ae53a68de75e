/** Seeded PRNG for reproducible test data (mulberry32 + Box–Muller). */
export function makeRng(seed: number) {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return {
    uniform,
    normal,
    int: (lo: number, hi: number): number => lo + Math.floor(uniform() * (hi - lo + 1)),
    normals: (n: number, std = 1): Float32Array => Float32Array.from({ length: n }, () => normal() * std),
  };
}
export type Rng = ReturnType<typeof makeRng>;
