/** The addon's GEMMs on every engine of this build (oneDNN, BLAS, portable) against a float64 loop. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GemmEngine, gemmEngineFromEnv, loadAddon } from './addon.js';
import { nativeAvailable } from './test-utils/native_available.js';
import { makeRng } from './test-utils/rng.js';

/** Unit roundoff of float32 (round to nearest). */
const U32 = 2 ** -24;

/**
 * C = alpha * op(A) op(B) + beta * C in float64, row-major, with a rigorous bound on the float32 error
 * of ANY evaluation order: a dot product of k terms summed in float32 in any order (blocked, split
 * over threads, with or without FMA) differs from the exact value by at most gamma(k) * sum |a_p b_p|,
 * gamma(n) = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical Algorithms, Sec. 3.1). The
 * alpha scaling and the beta term add two more roundings, hence gamma(k + 2) over the absolute terms,
 * plus the rounding of the stored result and the float32 representation of the float64 reference
 * (u each). Two correct kernels may differ by up to twice the bound: nothing stronger holds across CPUs.
 */
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
  const value = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  const gamma = ((k + 2) * U32) / (1 - (k + 2) * U32);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const t = (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
        s += t;
        abs += Math.abs(t);
      }
      const cTerm = beta === 0 ? 0 : beta * c[i * n + j];
      const v = alpha * s + cTerm;
      value[i * n + j] = v;
      bound[i * n + j] = gamma * (Math.abs(alpha) * abs + Math.abs(cTerm)) + 2 * U32 * Math.abs(v);
    }
  }
  return { value, bound };
}

/** First index where |got - want| exceeds the bound (or got is not finite), or -1. */
function firstOutOfBound(got: Float32Array, want: { value: Float64Array; bound: Float64Array }) {
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want.value[i]) <= want.bound[i])) return i;
  }
  return -1;
}

function expectWithinBound(name: string, got: Float32Array, want: ReturnType<typeof gemm64>) {
  const i = firstOutOfBound(got, want);
  expect(
    i,
    i < 0
      ? ''
      : `${name}: index ${i}: ${got[i]} vs ${want.value[i]} (error ${Math.abs(got[i] - want.value[i])} > bound ${want.bound[i]})`,
  ).toBe(-1);
}

const engines: GemmEngine[] = nativeAvailable() ? loadAddon().features().gemmEngines : [];

describe.skipIf(!nativeAvailable())('GEMM engines', () => {
  it('the build has the portable kernel and names its default; an unknown engine is refused by name', () => {
    const f = loadAddon().features();
    expect(f.gemmEngines).toContain('portable');
    expect(f.gemmEngines).toContain(f.gemmEngine);
    expect(() => loadAddon().setGemmEngine('mkl' as GemmEngine)).toThrow(/unknown engine 'mkl'/);
    expect(loadAddon().features().gemmEngine).toBe(f.gemmEngine);
  });

  it('CORE_TENSORS_GEMM is checked against the build, naming the variable', () => {
    expect(gemmEngineFromEnv(undefined, ['blas', 'portable'])).toBeUndefined();
    expect(gemmEngineFromEnv('', ['blas', 'portable'])).toBeUndefined();
    expect(gemmEngineFromEnv('portable', ['blas', 'portable'])).toBe('portable');
    expect(() => gemmEngineFromEnv('dnnl', ['blas', 'portable'])).toThrow(
      /CORE_TENSORS_GEMM=dnnl: not an engine of this build \(it has blas, portable/,
    );
  });
});

describe.skipIf(!engines.includes('dnnl'))('oneDNN under signals', () => {
  // oneDNN 2.6.3's threaded sgemm corrupts the heap when a signal arrives during a call (gemm.cc holds
  // signals back). `--cpu-prof` sends SIGPROF to the JS thread every millisecond: without the guard this
  // process aborts ("corrupted size vs. prev_size") within a second.
  it('survives 1.5 s of the model-shaped GEMMs under the CPU profiler', () => {
    const loader = createRequire(import.meta.url).resolve('@anchor-refine/core-tensors-native');
    const script = `
      const { addon } = require(${JSON.stringify(loader)}).load();
      addon.setGemmEngine('dnnl');
      addon.setThreads(2);
      const shapes = [[592, 384, 128], [592, 128, 128], [352, 512, 128], [352, 128, 512], [1184, 128, 256]];
      const t0 = Date.now();
      let calls = 0;
      while (Date.now() - t0 < 1500)
        for (const [m, n, k] of shapes) {
          const a = new Float32Array(m * k).fill(1), b = new Float32Array(k * n).fill(1), c = new Float32Array(m * n);
          addon.gemm(false, calls % 2 === 1, m, n, k, 1, a, b, 0, c);
          if (c[m * n - 1] !== k) throw new Error('wrong product ' + c[m * n - 1]);
          calls++;
        }
      console.log('calls', calls);
    `;
    const dir = mkdtempSync(join(tmpdir(), 'ct-prof-'));
    try {
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '-e', script], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).not.toMatch(/corrupted|invalid pointer|free\(\)/);
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
      expect(r.stdout).toMatch(/calls \d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!nativeAvailable())('GEMM from several threads at once', () => {
  // Node worker_threads share the addon's engine and thread pool (the closed-loop evaluator runs a policy
  // in each). One caller at a time gets the threads; the others run single-threaded. Every product must
  // still be right, and nothing may deadlock.
  for (const engine of engines)
    it(`${engine}: two worker threads and the main thread, 40 products each`, async () => {
      const loader = createRequire(import.meta.url).resolve('@anchor-refine/core-tensors-native');
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const { addon } = require(${JSON.stringify(loader)}).load();
        addon.setGemmEngine(workerData.engine);
        let bad = 0;
        for (let i = 0; i < 40; i++) {
          const [m, n, k] = i % 2 ? [352, 128, 512] : [592, 384, 128];
          const a = new Float32Array(m * k).fill(1), b = new Float32Array(k * n).fill(0.5), c = new Float32Array(m * n);
          addon.gemm(false, i % 3 === 0, m, n, k, 1, a, b, 0, c);
          for (let j = 0; j < c.length; j += 97) if (c[j] !== k / 2) bad++;
        }
        parentPort.postMessage(bad);
      `;
      const addon = loadAddon();
      const before = addon.features().gemmEngine;
      addon.setGemmEngine(engine);
      try {
        const run = () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { engine } });
            w.once('message', resolve);
            w.once('error', reject);
          });
        const workers = [run(), run()];
        let bad = 0;
        for (let i = 0; i < 40; i++) {
          const [m, n, k] = [1184, 128, 256];
          const c = new Float32Array(m * n);
          addon.gemm(
            false,
            false,
            m,
            n,
            k,
            1,
            new Float32Array(m * k).fill(2),
            new Float32Array(k * n).fill(1),
            0,
            c,
          );
          for (let j = 0; j < c.length; j += 97) if (c[j] !== 2 * k) bad++;
        }
        expect([bad, ...(await Promise.all(workers))]).toEqual([0, 0, 0]);
      } finally {
        addon.setGemmEngine(before);
      }
    }, 60_000);
});

for (const engine of engines)
  describe(`GEMM on the ${engine} engine`, () => {
    let before: GemmEngine;
    beforeAll(() => {
      before = loadAddon().features().gemmEngine;
      loadAddon().setGemmEngine(engine);
    });
    afterAll(() => loadAddon().setGemmEngine(before));
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [17, 33, 9],
      [64, 64, 64],
      [65, 31, 129],
      [128, 1, 200],
      [1, 257, 64],
      // few rows on the dnnl engine: each thread runs its own slab of C's columns (uneven last slab)
      [100, 300, 70],
      [192, 77, 50],
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
          expectWithinBound('gemm', cBlas, want);
          expectWithinBound('gemmPortable', cPortable, want);
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
          expectWithinBound(run === addon.gemm ? 'gemm' : 'gemmPortable', c, want);
        }
      });
    }

    // Which engine bmm picks per matrix (BLAS, or the portable kernel on pool threads for many small
    // matrices) is an implementation choice, and engines round differently on different CPUs: so each
    // output matrix is checked against its own float64 product within the rigorous rounding bound, which
    // also proves the index maps picked the right operands (a wrong pair is off by O(1), not O(u)).
    for (const [m, n, k, ta, tb] of [
      [4, 5, 6, false, false],
      [33, 17, 70, true, false],
      [16, 24, 40, false, true],
      [200, 180, 64, false, false], // above the small-matrix cutoff: one BLAS call per matrix
    ] as const) {
      it(`bmm with broadcast index maps matches per-batch products (m=${m} n=${n} k=${k} ta=${ta} tb=${tb})`, () => {
        const addon = loadAddon();
        const rng = makeRng(3 + m);
        const a = rng.normals(2 * m * k); // 2 A matrices
        const b = rng.normals(3 * k * n); // 3 B matrices
        const aIndex = Int32Array.from([0, 0, 0, 1, 1, 1]); // batch [2,3] from A [2,1] and B [3]
        const bIndex = Int32Array.from([0, 1, 2, 0, 1, 2]);
        const c = new Float32Array(6 * m * n).fill(Number.NaN);
        addon.bmm(ta, tb, 6, m, n, k, a, aIndex, b, bIndex, c);
        for (let i = 0; i < 6; i++) {
          const ai = a.subarray(aIndex[i] * m * k, (aIndex[i] + 1) * m * k);
          const bi = b.subarray(bIndex[i] * k * n, (bIndex[i] + 1) * k * n);
          const want = gemm64(ta, tb, m, n, k, 1, ai, bi, 0, new Float32Array(m * n));
          expectWithinBound(`bmm batch ${i}`, c.subarray(i * m * n, (i + 1) * m * n), want);
        }
      });
    }
  });

describe.skipIf(!nativeAvailable())('GEMM arguments', () => {
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
