// ct_linear_forward: one GEMM (y = x * w^T) and the row bias added after it, in one call.
#include <algorithm>

#include "core_tensors.h"
#include "ct_internal.h"

extern "C" ct_status ct_linear_forward(int64_t m, int64_t n, int64_t k, const float *x, const float *w,
                                       const float *bias, float *y) {
  if (m < 0 || n < 0 || k < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_linear_forward: negative size (m=%lld, n=%lld, k=%lld)",
                        (long long)m, (long long)n, (long long)k);
  if (m == 0 || n == 0) return CT_STATUS_OK;
  if (k == 0) {
    std::fill(y, y + m * n, 0.f);
  } else {
    const ct_status st = ct_gemm_run(0, 1, m, n, k, 1.f, x, std::max<int64_t>(1, k), w,
                                     std::max<int64_t>(1, k), 0.f, y, n);
    if (st != CT_STATUS_OK) return st;
  }
  if (bias) {
    auto add_rows = [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        float *__restrict row = y + i * n;
        const float *__restrict b = bias;
        for (int64_t j = 0; j < n; ++j) row[j] = row[j] + b[j];
      }
    };
    // Memory-bound: one thread below kParallelFloats (a parallel region costs more than the pass at the
    // sizes inference has), blocks of rows across the pool above it. Each element is one add either way.
    constexpr int64_t kParallelFloats = int64_t(1) << 16;
    if (m * n < kParallelFloats || m < 2) {
      add_rows(0, m);
    } else {
      const int64_t per = std::max<int64_t>(1, kParallelFloats / 4 / n);
      const int64_t blocks = (m + per - 1) / per;
      ct::parallel_for(blocks, [&](int64_t t) { add_rows(t * per, std::min(m, (t + 1) * per)); });
    }
  }
  return CT_STATUS_OK;
}
