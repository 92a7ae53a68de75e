import { describe, expect, it } from 'vitest';
import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from './half.js';

describe('float16 conversion', () => {
  it('converts normal values, extremes and special values both ways', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [-(2 ** -24), 0x8001],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [0, 0x0000],
    ];
    for (const [value, bits] of cases) {
      expect(numberToF16(value), `${value} → f16`).toBe(bits);
      expect(f16ToNumber(bits), `f16 ${bits.toString(16)} → number`).toBe(value);
    }
    expect(numberToF16(-0)).toBe(0x8000);
    expect(Object.is(f16ToNumber(0x8000), -0)).toBe(true);
  });

  it('NaN stays NaN (quiet) in both directions', () => {
    expect(Number.isNaN(f16ToNumber(0x7e00))).toBe(true);
    expect(Number.isNaN(f16ToNumber(0x7c01))).toBe(true); // signalling payload
    expect(Number.isNaN(f16ToNumber(0xfe00))).toBe(true);
    expect(numberToF16(Number.NaN) & 0x7e00).toBe(0x7e00);
  });

  it('rounds to nearest, ties to even, including overflow and underflow boundaries', () => {
    expect(numberToF16(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10 → even (1)
    expect(numberToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(numberToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(numberToF16(0.1)).toBe(0x2e66);
    expect(numberToF16(65519)).toBe(0x7bff); // below the midpoint to 2^16
    expect(numberToF16(65520)).toBe(0x7c00); // midpoint 65504..65536 ties to even → Inf
    expect(numberToF16(1e6)).toBe(0x7c00);
    expect(numberToF16(-1e6)).toBe(0xfc00);
    expect(numberToF16(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie → even (0)
    expect(numberToF16(1.5 * 2 ** -25)).toBe(0x0001);
    expect(numberToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp: tie → even (2)
    expect(numberToF16(2 ** -26)).toBe(0x0000);
    expect(numberToF16(-(2 ** -30))).toBe(0x8000); // underflow keeps the sign
    expect(numberToF16(1023.5 * 2 ** -24)).toBe(0x0400); // largest subnormal + ½ ulp rounds up into normals
  });

  it('every non-NaN bit pattern survives f16 → number → f16', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16ToNumber(h);
      if (Number.isNaN(x)) continue;
      if (numberToF16(x) !== h) throw new Error(`f16 0x${h.toString(16)} (${x}) did not round-trip`);
    }
  });
});

describe('bfloat16 conversion', () => {
  it('converts normal, subnormal and special values both ways', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3f80],
      [-3, 0xc040],
      [Number.POSITIVE_INFINITY, 0x7f80],
      [Number.NEGATIVE_INFINITY, 0xff80],
      [2 ** -133, 0x0001], // smallest bf16 subnormal (an f32 subnormal)
      [2 ** -126, 0x0080], // smallest normal
      [0, 0x0000],
    ];
    for (const [value, bits] of cases) {
      expect(numberToBf16(value), `${value} → bf16`).toBe(bits);
      expect(bf16ToNumber(bits), `bf16 ${bits.toString(16)} → number`).toBe(value);
    }
    expect(numberToBf16(-0)).toBe(0x8000);
    expect(Object.is(bf16ToNumber(0x8000), -0)).toBe(true);
    expect(Number.isNaN(bf16ToNumber(0x7fc0))).toBe(true);
    expect(Number.isNaN(bf16ToNumber(0x7f81))).toBe(true);
    expect(numberToBf16(Number.NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it('rounds to nearest even and overflows to Inf', () => {
    expect(numberToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(numberToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even
    expect(numberToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(numberToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds past bf16 max
  });

  it('every non-NaN bit pattern survives bf16 → number → bf16', () => {
    for (let b = 0; b < 0x10000; b++) {
      const x = bf16ToNumber(b);
      if (Number.isNaN(x)) continue;
      if (numberToBf16(x) !== b) throw new Error(`bf16 0x${b.toString(16)} (${x}) did not round-trip`);
    }
  });
});
