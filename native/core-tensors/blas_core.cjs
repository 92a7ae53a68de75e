'use strict';
// Which OpenBLAS core type (kernel set) to run on this CPU, decided in the loader BEFORE the addon (and
// with it libopenblas, whose constructor reads OPENBLAS_CORETYPE once) is loaded.
//
// Why: a DYNAMIC_ARCH OpenBLAS picks its kernels from a table of CPU models. A model newer than the
// library (e.g. Debian 12's 0.3.21 on an Intel Xeon family 6 model 207) falls through the table to the
// generic `Prescott` kernels, 3-8x slower. What the table would have picked for a known Intel CPU is a
// function of the instruction set alone: AVX-512 (F/CD/BW/DQ/VL) -> SkylakeX, plus AVX512_BF16 ->
// Cooperlake, AVX2 + FMA -> Haswell. So on Intel the choice is made from the ISA flags: identical to the
// library's own pick where it knows the model, and the right class where it does not. AMD Zen (families
// 0x17, 0x19, 0x1A) is left to the library, which classifies it by features (this repository's CI
// machine, a family 0x1A EPYC, gets Cooperlake from 0.3.21 unaided). A user's OPENBLAS_CORETYPE always
// wins. Only Linux's /proc/cpuinfo is read (the flags there are the ones the kernel enabled, so AVX-512
// is listed only when the OS saves its registers).
const fs = require('node:fs');

const AVX512_SKX = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/** The first processor's vendor, family, model and flags from /proc/cpuinfo text; null if absent. */
function parseCpuinfo(text) {
  const block = String(text).split(/\n\s*\n/)[0];
  const field = (name) => {
    const m = block.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'));
    return m ? m[1].trim() : undefined;
  };
  const vendor = field('vendor_id');
  const family = Number(field('cpu family'));
  const model = Number(field('model'));
  const flags = (field('flags') ?? '').split(/\s+/).filter(Boolean);
  if (!vendor || !Number.isInteger(family) || !Number.isInteger(model)) return null;
  return { vendor, family, model, flags };
}

/**
 * Pure: the core type for these CPU facts ({vendor, family, model, flags}) and why, or core null when
 * the library's own detection is to be used.
 */
/** The instruction-set class of the CPU and OpenBLAS's kernel set for it (null below AVX2 + FMA). */
function isaCore(facts) {
  const has = new Set(facts.flags);
  const isa = AVX512_SKX.every((f) => has.has(f))
    ? has.has('avx512_bf16')
      ? 'avx512+bf16'
      : 'avx512'
    : has.has('avx2') && has.has('fma')
      ? 'avx2'
      : 'older';
  return { isa, core: { 'avx512+bf16': 'Cooperlake', avx512: 'SkylakeX', avx2: 'Haswell' }[isa] ?? null };
}

function chooseOpenblasCore(facts) {
  if (!facts) return { core: null, reason: 'CPU not identified (no /proc/cpuinfo): library detection' };
  const { isa, core } = isaCore(facts);
  const cpu = `${facts.vendor} family ${facts.family} model ${facts.model}, ${isa}`;
  if (facts.vendor !== 'GenuineIntel' || facts.family !== 6)
    return { core: null, reason: `${cpu}: library detection (knows this vendor by features)` };
  if (!core) return { core: null, reason: `${cpu}: no AVX2, library detection` };
  return { core, reason: `${cpu}: ${core} (the core OpenBLAS uses for this instruction set)` };
}

/**
 * Sets env.OPENBLAS_CORETYPE from chooseOpenblasCore unless the user set it. Returns what was decided:
 * { core, source: 'environment' | 'auto' | 'library', reason }. Call before loading the addon.
 */
function applyOpenblasCore(env = process.env, readCpuinfo = () => fs.readFileSync('/proc/cpuinfo', 'utf8')) {
  const preset = env.OPENBLAS_CORETYPE;
  let facts = null;
  try {
    facts = parseCpuinfo(readCpuinfo());
  } catch {
    facts = null;
  }
  if (preset !== undefined && preset !== '') {
    // the user's value wins; say when it is a weaker kernel set than the CPU runs (e.g. Haswell on AVX-512)
    const fit = facts ? isaCore(facts) : null;
    const hint =
      fit?.core && fit.core.toLowerCase() !== preset.toLowerCase()
        ? ` (this CPU's instruction set is ${fit.isa}: OpenBLAS's ${fit.core} kernels; unset it to let the library or loader choose)`
        : '';
    return { core: preset, source: 'environment', reason: `OPENBLAS_CORETYPE set by the user${hint}` };
  }
  const choice = chooseOpenblasCore(facts);
  if (!choice.core) return { core: null, source: 'library', reason: choice.reason };
  env.OPENBLAS_CORETYPE = choice.core;
  return { core: choice.core, source: 'auto', reason: choice.reason };
}

module.exports = { parseCpuinfo, chooseOpenblasCore, applyOpenblasCore };
