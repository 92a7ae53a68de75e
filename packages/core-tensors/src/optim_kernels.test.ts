/** The optimizer kernels: adamwUpdate (ct_adamw_update) and sumSquares (ct_sum_squares). */
import { describe, expect, it } from 'vitest';
import { type AdamWArgs, loadAddon } from './addon.js';
import { setThreads } from './backend.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

/** Index of the first element whose bits differ (NaN-safe), or -1; toEqual is slow on large arrays. */
function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const [x, y] = [
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
  ];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** The JS host loop of @anchor-refine/nn's AdamW, the oracle: double arithmetic, float32 stores. */
function adamw64(a: AdamWArgs, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array) {
  const n = p.length;
  const [np, nm, nv] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const scale = a.gradScale ?? 1;
  for (let i = 0; i < n; i++) {
    const gi = scale * g[i];
    const mi = a.beta1 * m[i] + (1 - a.beta1) * gi;
    const vi = a.beta2 * v[i] + (1 - a.beta2) * gi * gi;
    nm[i] = mi;
    nv[i] = vi;
    np[i] = p[i] * a.decay - (a.stepSize * mi) / (Math.sqrt(vi) / a.sqrtBc2 + a.eps);
  }
  return { np, nm, nv };
}

function args(step: number, lr: number, wd: number, gradScale?: number): AdamWArgs {
  const [beta1, beta2] = [0.9, 0.999];
  return {
    beta1,
    beta2,
    eps: 1e-8,
    decay: 1 - lr * wd,
    stepSize: lr / (1 - beta1 ** step),
    sqrtBc2: Math.sqrt(1 - beta2 ** step),
    gradScale,
  };
}

describe.skipIf(!nativeAvailable())('optimizer kernels', () => {
  // Every operation is one IEEE double operation in the same order as the JS loop (the source is built
  // with -ffp-contract=off, so no FMA merges two roundings) and sqrt is correctly rounded: the results
  // are the JS loop's bit for bit, on any x86-64 CPU.
  for (const [n, step, wd, scale] of [
    [1, 1, 0.01, undefined],
    [1000, 3, 0, undefined],
    [70_001, 10, 0.1, 0.37], // several pool chunks, a clip coefficient
    [200_000, 1000, 0.01, 1],
  ] as const) {
    it(`adamwUpdate equals the JS host loop bit for bit (n=${n}, t=${step}, wd=${wd}, gradScale=${scale})`, () => {
      const rng = makeRng(n + step);
      const p = rng.normals(n);
      const g = rng.normals(n);
      const m = rng.normals(n).map((x) => 0.1 * x);
      const v = rng.normals(n).map((x) => 0.01 * x * x);
      const a = args(step, 3e-4, wd, scale);
      const want = adamw64(a, p, g, m, v);
      const [np, nm, nv] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      loadAddon().adamwUpdate(a, p, g, m, v, np, nm, nv);
      expect(firstDiff(np, want.np)).toBe(-1);
      expect(firstDiff(nm, want.nm)).toBe(-1);
      expect(firstDiff(nv, want.nv)).toBe(-1);
    });
  }

  it('adamwUpdate may write over its inputs, and does not depend on the thread count', () => {
    const n = 100_000;
    const rng = makeRng(7);
    const [p, g, m, v] = [rng.normals(n), rng.normals(n), rng.normals(n), rng.normals(n).map((x) => x * x)];
    const a = args(5, 1e-3, 0.01);
    const want = adamw64(a, p, g, m, v);
    try {
      setThreads(1);
      const [np, nm, nv] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      loadAddon().adamwUpdate(a, p, g, m, v, np, nm, nv);
      setThreads(2);
      const [pi, mi, vi] = [p.slice(), m.slice(), v.slice()];
      loadAddon().adamwUpdate(a, pi, g, mi, vi, pi, mi, vi);
      expect(firstDiff(np, want.np)).toBe(-1);
      expect(firstDiff(pi, want.np)).toBe(-1);
      expect(firstDiff(mi, want.nm)).toBe(-1);
      expect(firstDiff(vi, want.nv)).toBe(-1);
    } finally {
      setThreads(0);
    }
  });

  it('adamwUpdate rejects arrays of different lengths and a bad descriptor, naming them', () => {
    const addon = loadAddon();
    const x = new Float32Array(4);
    expect(() => addon.adamwUpdate(args(1, 1e-3, 0), x, x, x, new Float32Array(3), x, x, x)).toThrow(
      /adamwUpdate: v has 3 floats, expected p.length = 4/,
    );
    expect(() => addon.adamwUpdate({ ...args(1, 1e-3, 0), sqrtBc2: 0 }, x, x, x, x, x, x, x)).toThrow(
      /sqrt_bc2/,
    );
    expect(() => addon.adamwUpdate({ ...args(1, 1e-3, 0), beta1: Number.NaN }, x, x, x, x, x, x, x)).toThrow(
      /args.beta1 must be finite/,
    );
  });

  it('sumSquares: Σx² per array in double (within summation-order rounding of a float64 loop)', () => {
    const rng = makeRng(11);
    const arrays = [new Float32Array(0), rng.normals(1), rng.normals(33), rng.normals(300_001)];
    const got = loadAddon().sumSquares(arrays);
    expect(got).toBeInstanceOf(Float64Array);
    arrays.forEach((x, i) => {
      let s = 0;
      for (const e of x) s += e * e;
      // squares are exact in double; any summation order is within n·2⁻⁵³ of the sum of the terms
      expect(Math.abs(got[i] - s)).toBeLessThanOrEqual(x.length * 2 ** -52 * s);
    });
    expect(() => loadAddon().sumSquares([new Float64Array(2) as unknown as Float32Array])).toThrow(
      /sumSquares: arrays\[0\] must be a Float32Array/,
    );
  });
});
