/** The addon's GEMMs: the portable blocked kernel against the BLAS-backed one and a float64 loop. */
import { describe, expect, it } from 'vitest';
import { loadAddon } from './addon.js';
import { compareArrays } from './test-utils/check_op.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

/** C = alpha * op(A) op(B) + beta * C in float64, row-major. */
function gemm64(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++)
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = alpha * s + beta * c[i * n + j];
    }
  }
  return out;
}

describe.skipIf(!nativeAvailable())('GEMM', () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
    [64, 64, 64],
    [65, 31, 129],
    [128, 1, 200],
    [1, 257, 64],
  ];
  for (const [m, n, k] of sizes) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`portable vs gemm vs float64, m=${m} n=${n} k=${k} ta=${ta} tb=${tb}`, () => {
        const addon = loadAddon();
        const rng = makeRng(m * 1000 + n * 10 + k);
        const a = rng.normals(m * k);
        const b = rng.normals(k * n);
        const c0 = rng.normals(m * n);
        const [alpha, beta] = [0.75, 0.5];
        const cBlas = c0.slice();
        const cPortable = c0.slice();
        addon.gemm(ta, tb, m, n, k, alpha, a, b, beta, cBlas);
        addon.gemmPortable(ta, tb, m, n, k, alpha, a, b, beta, cPortable);
        const want = gemm64(ta, tb, m, n, k, alpha, a, b, beta, c0);
        const tol = 1e-5 * Math.sqrt(k) + 1e-5;
        for (const [name, got] of [
          ['gemm', cBlas],
          ['gemmPortable', cPortable],
        ] as const) {
          const r = compareArrays(got, want, tol, 1e-4);
          expect(r.ok, `${name}: index ${r.index} ${r.actual} vs ${r.expected}`).toBe(true);
        }
      });
    }
  }

  // BLAS defines C as write-only when beta = 0: NaN garbage in C must not leak into the result.
  for (const [m, n, k, alpha] of [
    [3, 5, 7, 1],
    [200, 300, 64, 0.5],
    [4, 6, 0, 1],
    [4, 6, 3, 0],
  ] as const) {
    it(`beta = 0 ignores NaN in C (m=${m} n=${n} k=${k} alpha=${alpha})`, () => {
      const addon = loadAddon();
      const rng = makeRng(m + n + k);
      const a = rng.normals(m * k);
      const b = rng.normals(k * n);
      const want = gemm64(false, false, m, n, k, alpha, a, b, 0, new Float32Array(m * n));
      for (const run of [addon.gemm, addon.gemmPortable]) {
        const c = new Float32Array(m * n).fill(Number.NaN);
        run(false, false, m, n, k, alpha, a, b, 0, c);
        const r = compareArrays(c, want, 1e-4, 1e-4);
        expect(r.ok, `index ${r.index}: ${r.actual} vs ${r.expected}`).toBe(true);
      }
    });
  }

  it('bmm with broadcast index maps matches per-batch gemm', () => {
    const addon = loadAddon();
    const rng = makeRng(3);
    const [m, n, k] = [4, 5, 6];
    const a = rng.normals(2 * m * k); // 2 A matrices
    const b = rng.normals(3 * k * n); // 3 B matrices
    const aIndex = Int32Array.from([0, 0, 0, 1, 1, 1]); // batch [2,3] from A [2,1] and B [3]
    const bIndex = Int32Array.from([0, 1, 2, 0, 1, 2]);
    const c = new Float32Array(6 * m * n);
    addon.bmm(false, false, 6, m, n, k, a, aIndex, b, bIndex, c);
    for (let i = 0; i < 6; i++) {
      const ci = new Float32Array(m * n);
      addon.gemm(
        false,
        false,
        m,
        n,
        k,
        1,
        a.subarray(aIndex[i] * m * k, (aIndex[i] + 1) * m * k),
        b.subarray(bIndex[i] * k * n, (bIndex[i] + 1) * k * n),
        0,
        ci,
      );
      expect(Array.from(c.subarray(i * m * n, (i + 1) * m * n))).toEqual(Array.from(ci));
    }
  });

  it('rejects a too-short array with an error instead of reading past it', () => {
    const addon = loadAddon();
    const c = new Float32Array(4);
    expect(() =>
      addon.gemm(false, false, 2, 2, 2, 1, new Float32Array(3), new Float32Array(4), 0, c),
    ).toThrow(/gemm/);
    expect(() =>
      addon.gemmPortable(
        false,
        false,
        2,
        2,
        2,
        1,
        new Float32Array(4),
        new Float32Array(4),
        0,
        new Float32Array(3),
      ),
    ).toThrow(/gemm/i);
  });
});
