/** The loader's OpenBLAS core choice (native/core-tensors/blas_core.cjs): a pure function of CPU facts. */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from './test-utils/native_available.js';

interface CpuFacts {
  vendor: string;
  family: number;
  model: number;
  flags: string[];
}
interface Choice {
  core: string | null;
  source?: string;
  reason: string;
}
interface BlasCoreModule {
  parseCpuinfo(text: string): CpuFacts | null;
  chooseOpenblasCore(facts: CpuFacts | null): Choice;
  applyOpenblasCore(env: Record<string, string | undefined>, readCpuinfo: () => string): Required<Choice>;
}

const nativeDir = dirname(createRequire(import.meta.url).resolve('@anchor-refine/core-tensors-native'));
const blasCore = createRequire(import.meta.url)(join(nativeDir, 'blas_core.cjs')) as BlasCoreModule;

const AVX2 = ['sse4_2', 'avx', 'avx2', 'fma'];
const AVX512 = [...AVX2, 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];
const intel = (model: number, flags: string[]): CpuFacts => ({
  vendor: 'GenuineIntel',
  family: 6,
  model,
  flags,
});

/** A two-processor /proc/cpuinfo as Linux prints it (only the first block is read). */
function cpuinfo(vendor: string, family: number, model: number, flags: string[]): string {
  const block = (n: number) =>
    [
      `processor\t: ${n}`,
      `vendor_id\t: ${vendor}`,
      `cpu family\t: ${family}`,
      `model\t\t: ${model}`,
      'model name\t: Some CPU',
      `flags\t\t: fpu ${flags.join(' ')}`,
    ].join('\n');
  return `${block(0)}\n\n${block(1)}\n`;
}

describe('OpenBLAS core choice', () => {
  it('parses vendor, family, model and flags of the first processor', () => {
    const facts = blasCore.parseCpuinfo(cpuinfo('GenuineIntel', 6, 207, ['avx2', 'avx512f']));
    expect(facts).toEqual({
      vendor: 'GenuineIntel',
      family: 6,
      model: 207,
      flags: ['fpu', 'avx2', 'avx512f'],
    });
    expect(blasCore.parseCpuinfo('processor : 0\n')).toBeNull();
  });

  it('Intel family 6 model 207 with AVX-512 + BF16 + AMX (unknown to OpenBLAS 0.3.21) gets Cooperlake', () => {
    const c = blasCore.chooseOpenblasCore(intel(207, [...AVX512, 'avx512_bf16', 'amx_tile', 'amx_bf16']));
    expect(c.core).toBe('Cooperlake');
    expect(c.reason).toMatch(/family 6 model 207/);
  });

  it('Intel AVX-512 without BF16 gets SkylakeX; AVX2 gets Haswell; older gets library detection', () => {
    expect(blasCore.chooseOpenblasCore(intel(85, AVX512)).core).toBe('SkylakeX'); // Skylake-SP / Cascade Lake
    expect(blasCore.chooseOpenblasCore(intel(106, AVX512)).core).toBe('SkylakeX'); // Ice Lake-SP
    expect(blasCore.chooseOpenblasCore(intel(151, AVX2)).core).toBe('Haswell'); // Alder Lake (AVX-512 fused off)
    // Knights Landing: AVX-512F without BW/DQ/VL is not the SkylakeX kernel set's ISA
    expect(blasCore.chooseOpenblasCore(intel(87, [...AVX2, 'avx512f', 'avx512cd'])).core).toBe('Haswell');
    expect(blasCore.chooseOpenblasCore(intel(44, ['sse4_2'])).core).toBeNull(); // Westmere
    expect(blasCore.chooseOpenblasCore(intel(207, ['avx2'])).core).toBeNull(); // AVX2 without FMA: not Haswell's ISA
  });

  it('AMD and other vendors are left to the library; no facts -> library', () => {
    expect(
      blasCore.chooseOpenblasCore({ vendor: 'AuthenticAMD', family: 26, model: 2, flags: AVX512 }).core,
    ).toBeNull();
    expect(
      blasCore.chooseOpenblasCore({ vendor: 'AuthenticAMD', family: 23, model: 49, flags: AVX2 }).core,
    ).toBeNull();
    expect(
      blasCore.chooseOpenblasCore({ vendor: 'GenuineIntel', family: 15, model: 4, flags: [] }).core,
    ).toBeNull();
    expect(blasCore.chooseOpenblasCore(null).core).toBeNull();
  });

  it('applyOpenblasCore sets OPENBLAS_CORETYPE only when the user did not', () => {
    const text = cpuinfo('GenuineIntel', 6, 207, [...AVX512, 'avx512_bf16']);
    const env: Record<string, string | undefined> = {};
    expect(blasCore.applyOpenblasCore(env, () => text)).toMatchObject({ core: 'Cooperlake', source: 'auto' });
    expect(env.OPENBLAS_CORETYPE).toBe('Cooperlake');

    const user: Record<string, string | undefined> = { OPENBLAS_CORETYPE: 'Haswell' };
    expect(blasCore.applyOpenblasCore(user, () => text)).toMatchObject({
      core: 'Haswell',
      source: 'environment',
    });
    expect(user.OPENBLAS_CORETYPE).toBe('Haswell');
    // a weaker kernel set than the CPU runs is named in the reason; a matching one is not
    expect(blasCore.applyOpenblasCore({ OPENBLAS_CORETYPE: 'Haswell' }, () => text).reason).toMatch(
      /avx512\+bf16: OpenBLAS's Cooperlake kernels/,
    );
    expect(blasCore.applyOpenblasCore({ OPENBLAS_CORETYPE: 'cooperlake' }, () => text).reason).toBe(
      'OPENBLAS_CORETYPE set by the user',
    );

    // an empty value is no choice (OpenBLAS itself answers "Core not found" and detects)
    const empty: Record<string, string | undefined> = { OPENBLAS_CORETYPE: '' };
    expect(blasCore.applyOpenblasCore(empty, () => text).source).toBe('auto');

    const amd: Record<string, string | undefined> = {};
    const r = blasCore.applyOpenblasCore(amd, () => cpuinfo('AuthenticAMD', 25, 17, AVX512));
    expect(r).toMatchObject({ core: null, source: 'library' });
    expect(amd.OPENBLAS_CORETYPE).toBeUndefined();

    const unreadable: Record<string, string | undefined> = {};
    const u = blasCore.applyOpenblasCore(unreadable, () => {
      throw new Error('ENOENT');
    });
    expect(u).toMatchObject({ core: null, source: 'library' });
  });
});

describe.skipIf(!nativeAvailable())('OpenBLAS core in the loaded addon', () => {
  // Loading is once per process (and libopenblas reads the variable once), so each case is a child.
  function loadedCore(env: Record<string, string | undefined>) {
    const script = `
      const { addon, blasChoice } = require(${JSON.stringify(nativeDir)}).load();
      const f = addon.features();
      console.log(JSON.stringify({ choice: blasChoice, vendor: f.blasVendor, core: f.blasCore, config: f.blasConfig }));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: env as NodeJS.ProcessEnv,
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { choice: Required<Choice>; vendor: string; core: string; config: string };
  }

  it('reports the core OpenBLAS runs, and a user OPENBLAS_CORETYPE is what it runs', () => {
    const { OPENBLAS_CORETYPE: _, ...rest } = process.env;
    const auto = loadedCore(rest);
    if (auto.vendor !== 'OpenBLAS') return; // generic CBLAS or portable build: nothing to choose
    expect(auto.core.length).toBeGreaterThan(0);
    expect(auto.config).toMatch(/OpenBLAS/);
    if (auto.choice.core) expect(auto.core.toLowerCase()).toBe(auto.choice.core.toLowerCase());
    if (!/DYNAMIC_ARCH/.test(auto.config)) return; // a single-target build ignores OPENBLAS_CORETYPE
    const forced = loadedCore({ ...rest, OPENBLAS_CORETYPE: 'Haswell' });
    expect(forced.choice).toMatchObject({ core: 'Haswell', source: 'environment' });
    expect(forced.core).toBe('Haswell');
  });
});
