/**
 * Seeded pseudo-random numbers for parameter init and dropout, so the same seed gives bit-identical
 * models on every run and backend (tfjs' own random ops draw from an unseeded global by default).
 *
 * Generator: SplitMix32-seeded xoshiro128** (fast, 128-bit state, passes BigCrush). Normals come from
 * Box–Muller in float64, then rounded once to float32 by the caller's Float32Array.
 */

const TWO_POW_32 = 4294967296;

/** SplitMix32 step: spreads a 32-bit seed over the xoshiro state words. */
function splitMix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second Box–Muller output, kept for the next normal() call. */
  private spareNormal: number | undefined;

  constructor(seed = 0) {
    const st = { s: seed >>> 0 };
    this.a = splitMix32(st);
    this.b = splitMix32(st);
    this.c = splitMix32(st);
    this.d = splitMix32(st);
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1) (Box–Muller, both outputs used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) guard
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A 32-bit seed for a tfjs random op or a child generator. */
  nextSeed(): number {
    return this.nextUint32();
  }

  /** An independent generator seeded from this one (advances this one by one draw). */
  fork(): Rng {
    return new Rng(this.nextUint32() ^ Math.floor(this.uniform() * TWO_POW_32));
  }

  /** `n` uniforms in [low, high). */
  fillUniform(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    const span = high - low;
    for (let i = 0; i < n; i++) out[i] = low + span * this.uniform();
    return out;
  }

  /** `n` normals N(mean, std²). */
  fillNormal(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

/** The generator layers use when none is passed (like torch's default generator). */
let globalRng = new Rng(0);

/** Reseeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** The default generator; layers draw from it when their config names no `rng`. */
export function defaultRng(): Rng {
  return globalRng;
}
