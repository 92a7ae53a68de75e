// GELU forward and backward (ct_gelu_forward / ct_gelu_backward), exact-erf and tanh variants.
//   exact: y = 0.5 x (1 + erf(x / sqrt 2)),       y' = Phi(x) + x phi(x),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
//   tanh:  u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh u, y = 0.5 x (1 + t),
//          y' = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
// Elementwise, split into tasks of kGrain elements (deterministic). erf/exp/tanh are branch-free
// polynomial versions below, so the loops vectorize (AVX2: 8 lanes).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>

#include "ct_internal.h"
#include "vmath.h"

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr float kSqrt1_2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kC = 0.044715f;

// Phi(x) = 0.5 * erfc(-x / sqrt 2) without cancellation: with z = |x| / sqrt 2 and
// q = erfc(z) ~ t (a1 + t (a2 + ...)) exp(-z^2), t = 1 / (1 + p z) (Abramowitz & Stegun 7.1.26, the
// approximation tfjs's Erf uses; |error| <= 1.5e-7), Phi = 0.5 q for x < 0 and 1 - 0.5 q otherwise.
// Also returns phi(x) = exp(-x^2/2) / sqrt(2 pi) (same exponential).
inline float normal_cdf(float x, float *pdf) {
  const float z = std::fabs(x) * kSqrt1_2;
  const float t = 1.f / (1.f + 0.3275911f * z);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float e = ct::vexp(-z * z);
  const float q = poly * e;
  *pdf = kInvSqrt2Pi * e;
  return x < 0.f ? 0.5f * q : 1.f - 0.5f * q;
}

// tanh(u) = 1 - 2 / (exp(2u) + 1), saturating cleanly at +-1.
inline float vtanh(float u) { return 1.f - 2.f / (ct::vexp(2.f * u) + 1.f); }

template <class F>
ct_status run(const char *fn, ct_gelu_mode mode, int64_t n, F &&span) {
  if (mode != CT_GELU_EXACT && mode != CT_GELU_TANH)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: unknown mode %d", fn, (int)mode);
  if (n < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size %lld", fn, (long long)n);
  try {
    const int64_t tasks = (n + kGrain - 1) / kGrain;
    auto body = [&](int64_t t) {
      const int64_t i0 = t * kGrain, i1 = std::min(n, i0 + kGrain);
      span(i0, i1);
    };
    if (tasks > 1) ct::parallel_for(tasks, body);
    else if (tasks == 1) body(0);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}

}  // namespace

extern "C" ct_status ct_gelu_forward(ct_gelu_mode mode, int64_t n, const float *x, float *y) {
  static const char *fn = "ct_gelu_forward";
  if (n > 0 && (!x || !y)) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);
  return run(fn, mode, n, [&](int64_t i0, int64_t i1) {
    if (mode == CT_GELU_EXACT) {
      for (int64_t i = i0; i < i1; ++i) {
        const float v = x[i];
        float pdf;
        y[i] = v * normal_cdf(v, &pdf);
      }
    } else {
      for (int64_t i = i0; i < i1; ++i) {
        const float v = x[i];
        const float u = kSqrt2OverPi * (v + kC * v * v * v);
        y[i] = 0.5f * v * (1.f + vtanh(u));
      }
    }
  });
}

extern "C" ct_status ct_gelu_backward(ct_gelu_mode mode, int64_t n, const float *x, const float *dy, float *dx) {
  static const char *fn = "ct_gelu_backward";
  if (n > 0 && (!x || !dy || !dx)) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);
  return run(fn, mode, n, [&](int64_t i0, int64_t i1) {
    if (mode == CT_GELU_EXACT) {
      for (int64_t i = i0; i < i1; ++i) {
        const float v = x[i];
        float pdf;
        const float cdf = normal_cdf(v, &pdf);
        dx[i] = dy[i] * (cdf + v * pdf);
      }
    } else {
      for (int64_t i = i0; i < i1; ++i) {
        const float v = x[i];
        const float u = kSqrt2OverPi * (v + kC * v * v * v);
        const float t = vtanh(u);
        const float du = kSqrt2OverPi * (1.f + 3.f * kC * v * v);
        dx[i] = dy[i] * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * du);
      }
    }
  });
}
