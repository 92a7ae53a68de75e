// ct_adamw_update / ct_sum_squares: the optimizer's per-parameter pass and the global-norm reduction.
//
// AdamW in torch.optim.AdamW order, arithmetic in double, stored as float32:
//   g' = grad_scale * g
//   m' = beta1 * m + (1 - beta1) * g';   v' = beta2 * v + (1 - beta2) * g'^2
//   p' = p * decay - step_size * m' / (sqrt(v') / sqrt_bc2 + eps)
// with decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^t), sqrt_bc2 = sqrt(1 - beta2^t).
// Elementwise, split over the pool in fixed chunks: the result does not depend on the thread count.
#include <cmath>
#include <exception>

#include "ct_internal.h"

namespace {
constexpr int64_t kChunk = 1 << 15;

// Σ x[i]² over [lo, hi) in double with kLanes independent partial sums (lane j takes i ≡ j mod kLanes
// from lo), added in lane order at the end: one fixed summation order, so the same bits for any thread
// count and ISA, and no serial add chain (a single accumulator runs at one add per FP-add latency).
constexpr int kLanes = 8;
double block_sum_squares(const float *x, int64_t lo, int64_t hi) {
  double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = lo;
  for (; i + kLanes <= hi; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += (double)x[i + j] * (double)x[i + j];
  for (int j = 0; i < hi; ++i, ++j) acc[j] += (double)x[i] * (double)x[i];
  double s = 0.0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}
}  // namespace

extern "C" ct_status ct_adamw_update(const ct_adamw_desc *d, int64_t n, const float *p, const float *g,
                                     const float *m, const float *v, float *out_p, float *out_m,
                                     float *out_v) {
  if (!d) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_adamw_update: null descriptor");
  if (n < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_adamw_update: negative size %lld", (long long)n);
  if (n > 0 && (!p || !g || !m || !v || !out_p || !out_m || !out_v))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_adamw_update: null array");
  if (!(d->sqrt_bc2 > 0.0))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_adamw_update: sqrt_bc2 must be > 0 (got %g)", d->sqrt_bc2);
  const double b1 = d->beta1, b2 = d->beta2, c1 = 1.0 - b1, c2 = 1.0 - b2, decay = d->decay,
               step = d->step_size, sqrt_bc2 = d->sqrt_bc2, eps = d->eps, gs = d->grad_scale;
  try {
    ct::parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c) {
      const int64_t lo = c * kChunk, hi = lo + kChunk < n ? lo + kChunk : n;
      // Each out_x[i] depends only on the inputs at i, and an output is either its input or disjoint from
      // every input (the header's contract), so lanes never see another lane's store: ivdep lets GCC
      // vectorize without the overlap check that sends the in-place call (out_p == p) to the scalar loop.
#pragma GCC ivdep
      for (int64_t i = lo; i < hi; ++i) {
        const double gi = gs * (double)g[i];
        const double mi = b1 * (double)m[i] + c1 * gi;
        const double vi = b2 * (double)v[i] + c2 * gi * gi;
        out_m[i] = (float)mi;
        out_v[i] = (float)vi;
        out_p[i] = (float)((double)p[i] * decay - step * mi / (std::sqrt(vi) / sqrt_bc2 + eps));
      }
    });
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_adamw_update: %s", e.what());
  }
  return CT_STATUS_OK;
}

extern "C" ct_status ct_sum_squares(int64_t n, const float *x, double *out) {
  if (n < 0 || !out || (n > 0 && !x))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_sum_squares: bad arguments (n=%lld)", (long long)n);
  // fixed blocks summed in a fixed order: independent of the thread count
  const int64_t blocks = (n + kChunk - 1) / kChunk;
  double total = 0.0;
  if (blocks <= 1) {
    total = block_sum_squares(x, 0, n);
  } else {
    double *part = new double[blocks];
    try {
      ct::parallel_for(blocks, [&](int64_t b) {
        const int64_t lo = b * kChunk, hi = lo + kChunk < n ? lo + kChunk : n;
        part[b] = block_sum_squares(x, lo, hi);
      });
    } catch (const std::exception &e) {
      delete[] part;
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_sum_squares: %s", e.what());
    }
    for (int64_t b = 0; b < blocks; ++b) total += part[b];
    delete[] part;
  }
  *out = total;
  return CT_STATUS_OK;
}
