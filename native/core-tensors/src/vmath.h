/* Branch-free float math shared by the elementwise kernels (GELU, softmax): written so GCC vectorizes
 * the loops that call it (AVX2: 8 lanes). Internal; not part of the public API. */
#ifndef CT_VMATH_H
#define CT_VMATH_H

#include <cstdint>
#include <cstring>

namespace ct {

// Branch-free, auto-vectorizable exp (Cephes expf: range reduction by ln 2, degree-6 polynomial,
// 2^n by exponent bits). Relative error ~2e-7 on [-87, 88]; below -87.3 it returns exactly 0 (so exp(-inf) = 0), NaN passes.
inline float vexp(float x) {
  const float lo = x < -87.3f ? -87.3f : x;
  const float xc = lo > 88.3f ? 88.3f : lo;
  // round to nearest by the 1.5 * 2^23 trick (std::floor does not vectorize here)
  const float fx = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = xc - fx * 0.693359375f + fx * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.f;
  const int32_t bits = ((int32_t)fx + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float res = y * scale;
  const float flushed = x < -87.3f ? 0.f : res; // exp(-inf) and deep underflow are exactly 0
  return x != x ? x : flushed;
}

}  // namespace ct

#endif /* CT_VMATH_H */
