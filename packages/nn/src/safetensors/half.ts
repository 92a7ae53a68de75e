/**
 * IEEE binary16 (F16) and bfloat16 (BF16) ↔ float32 bit conversions, written by hand. Narrowing rounds to
 * nearest, ties to even; overflow goes to ±Inf; NaN stays NaN (quiet, top payload bits kept); signed
 * zeros and subnormals are exact in both directions where representable.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

function bitsToF32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** float32 bit pattern of a binary16 value (exact: every f16 is an f32). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // 112 = 127 − 15
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal: value = mant·2^-24; normalize so the leading 1 becomes the implicit bit.
  let e = 1;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e -= 1;
  }
  return (sign | ((e + 112) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** binary16 bit pattern nearest to a float32 bit pattern (round half to even). */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // Inf / quiet NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00; // ≥ 2^16: overflow to Inf
  if (e <= 0) {
    // Subnormal (or zero) result: with full = 1.mant as a 24-bit integer, the half mantissa is full >> (14 − e).
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal (also f32 zero/subnormal inputs)
    const full = mant | 0x800000;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half += 1; // may carry into the smallest normal
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half += 1; // a carry may round up to Inf: correct
  return half;
}

/** float32 bit pattern of a bfloat16 value (its top 16 bits). */
export function bf16BitsToF32Bits(b: number): number {
  return ((b & 0xffff) << 16) >>> 0;
}

/** bfloat16 bit pattern nearest to a float32 bit pattern (round half to even). */
export function f32BitsToBf16Bits(x: number): number {
  const bits = x >>> 0;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40; // quiet NaN
  const roundingBias = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + roundingBias) >>> 16) & 0xffff; // overflow of the exponent lands on ±Inf, as it should
}

export function f16ToNumber(h: number): number {
  return bitsToF32(f16BitsToF32Bits(h));
}

export function numberToF16(x: number): number {
  return f32BitsToF16Bits(f32Bits(x));
}

export function bf16ToNumber(b: number): number {
  return bitsToF32(bf16BitsToF32Bits(b));
}

export function numberToBf16(x: number): number {
  return f32BitsToBf16Bits(f32Bits(x));
}

/** Widens packed binary16 values to float32 (the bit patterns written through a Uint32Array view). */
export function f16ArrayToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = f16BitsToF32Bits(src[i]);
  return out;
}

export function bf16ArrayToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

export function f32ArrayToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

export function f32ArrayToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}
