// Sum / mean / max over any set of axes (ct_reduce_run), with a direct strided loop (no transpose).
//
// The shape is normalized first: size-1 dimensions are dropped and neighbouring dimensions that are both
// reduced or both kept are merged, so e.g. [B,T,C] over (0,1) becomes [B*T, C] over (0). Two loops then
// cover every pattern:
//  * innermost dimension reduced: every output element sums contiguous runs of the input (one run per
//    combination of the outer reduced dimensions), with four independent double accumulators;
//  * innermost dimension kept: every output row of L contiguous elements accumulates contiguous input
//    rows (acc[j] += x[off + j], vectorizable), in double for sum/mean.
// Tasks are split over output elements only and each output is accumulated in a fixed order, so the
// result is independent of the thread count.
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <vector>

#include "ct_internal.h"

namespace {

constexpr int64_t kGrain = 1 << 15;  // input elements per parallel task (about)
constexpr int64_t kColBlock = 1024;  // output columns per task in the inner-kept loop

struct Dims {
  int n = 0;
  int64_t size[CT_MAX_RANK];
  int64_t stride[CT_MAX_RANK];
};

// offset of linear index `i` over dims d (row-major over d's order)
inline int64_t offset_of(const Dims &d, int64_t i) {
  int64_t off = 0;
  for (int k = d.n - 1; k >= 0; --k) {
    const int64_t idx = i % d.size[k];
    i /= d.size[k];
    off += idx * d.stride[k];
  }
  return off;
}

inline double sum_run(const float *__restrict x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  for (; i < n; ++i) s0 += x[i];
  return (s0 + s1) + (s2 + s3);
}

inline float max_step(float m, float v) { return (v != v || v > m) ? v : m; }

inline float max_run(const float *__restrict x, int64_t n, float m) {
  for (int64_t i = 0; i < n; ++i) m = max_step(m, x[i]);
  return m;
}

}  // namespace

extern "C" ct_status ct_reduce_run(ct_reduce_op op, const float *x, const int64_t *shape, int rank,
                                   const int32_t *axes, int n_axes, float *out) {
  static const char *fn = "ct_reduce_run";
  if (op != CT_REDUCE_SUM && op != CT_REDUCE_MEAN && op != CT_REDUCE_MAX)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: unknown op %d", fn, (int)op);
  if (rank < 0 || rank > CT_MAX_RANK)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: rank %d outside [0, %d]", fn, rank, CT_MAX_RANK);
  if ((rank && !shape) || (n_axes > 0 && !axes) || n_axes < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null shape or axes", fn);
  bool reduced[CT_MAX_RANK] = {false, false, false, false, false, false};
  for (int i = 0; i < n_axes; ++i) {
    const int32_t a = axes[i];
    if (a < 0 || a >= rank || reduced[a])
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: axis %d is out of range [0, %d) or repeated", fn, (int)a,
                          rank);
    reduced[a] = true;
  }
  int64_t out_n = 1, red_n = 1;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative dimension", fn);
    (reduced[i] ? red_n : out_n) *= shape[i];
  }
  if (out_n == 0) return CT_STATUS_OK;
  if (!out) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null output", fn);
  if (red_n == 0) {
    const float v = op == CT_REDUCE_SUM ? 0.f
                    : op == CT_REDUCE_MEAN ? std::numeric_limits<float>::quiet_NaN()
                                           : -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < out_n; ++i) out[i] = v;
    return CT_STATUS_OK;
  }
  if (!x) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null input", fn);

  // merged dims (size > 1 only) with their reduced flag and input strides
  int64_t ms[CT_MAX_RANK];
  bool mr[CT_MAX_RANK];
  int m = 0;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] == 1) continue;
    if (m > 0 && mr[m - 1] == reduced[i]) {
      ms[m - 1] *= shape[i];
    } else {
      ms[m] = shape[i];
      mr[m] = reduced[i];
      ++m;
    }
  }
  int64_t st[CT_MAX_RANK];
  {
    int64_t s = 1;
    for (int i = m - 1; i >= 0; --i) {
      st[i] = s;
      s *= ms[i];
    }
  }
  const double inv = 1.0 / (double)red_n;
  const bool is_max = op == CT_REDUCE_MAX, is_mean = op == CT_REDUCE_MEAN;

  try {
    if (red_n == 1) {  // nothing reduced (or only size-1 axes): a copy
      for (int64_t i = 0; i < out_n; ++i) out[i] = x[i];
      return CT_STATUS_OK;
    }
    Dims kept, red;
    const bool inner_reduced = mr[m - 1];
    const int64_t L = ms[m - 1];
    for (int i = 0; i < m - 1; ++i) {
      Dims &d = mr[i] ? red : kept;
      d.size[d.n] = ms[i];
      d.stride[d.n] = st[i];
      ++d.n;
    }
    if (inner_reduced) {
      // out[o] = reduce over (outer reduced combos r) of the run x[koff(o) + roff(r) .. + L]
      const int64_t runs = red_n / L;
      const int64_t per = std::max<int64_t>(1, kGrain / red_n);
      const int64_t tasks = (out_n + per - 1) / per;
      auto body = [&](int64_t t) {
        const int64_t o0 = t * per, o1 = std::min(out_n, o0 + per);
        for (int64_t o = o0; o < o1; ++o) {
          const int64_t base = offset_of(kept, o);
          if (is_max) {
            float mx = x[base];
            for (int64_t r = 0; r < runs; ++r) mx = max_run(x + base + offset_of(red, r), L, mx);
            out[o] = mx;
          } else {
            double s = 0;
            for (int64_t r = 0; r < runs; ++r) s += sum_run(x + base + offset_of(red, r), L);
            out[o] = (float)(is_mean ? s * inv : s);
          }
        }
      };
      if (tasks <= 1 || out_n * red_n < 2 * kGrain) {
        for (int64_t t = 0; t < tasks; ++t) body(t);
      } else {
        ct::parallel_for(tasks, body);
      }
    } else {
      // out rows of L contiguous elements: out[o*L + j] = reduce over r of x[koff(o) + roff(r) + j]
      const int64_t orows = out_n / L;
      const int64_t cb = std::min(L, kColBlock);
      const int64_t cblocks = (L + cb - 1) / cb;
      const int64_t tasks = orows * cblocks;
      auto body = [&](int64_t t) {
        const int64_t o = t / cblocks, c0 = (t % cblocks) * cb, c1 = std::min(L, c0 + cb), w = c1 - c0;
        const int64_t base = offset_of(kept, o) + c0;
        float *dst = out + o * L + c0;
        if (is_max) {
          const float *src = x + base;
          for (int64_t j = 0; j < w; ++j) dst[j] = src[j];
          for (int64_t r = 1; r < red_n; ++r) {
            const float *s = x + base + offset_of(red, r);
            for (int64_t j = 0; j < w; ++j) dst[j] = max_step(dst[j], s[j]);
          }
        } else {
          std::vector<double> acc((size_t)w, 0.0);
          double *__restrict a = acc.data();
          for (int64_t r = 0; r < red_n; ++r) {
            const float *__restrict s = x + base + offset_of(red, r);
            for (int64_t j = 0; j < w; ++j) a[j] += s[j];
          }
          for (int64_t j = 0; j < w; ++j) dst[j] = (float)(is_mean ? a[j] * inv : a[j]);
        }
      };
      if (tasks <= 1 || out_n * red_n < 2 * kGrain) {
        for (int64_t t = 0; t < tasks; ++t) body(t);
      } else {
        ct::parallel_for(tasks, body);
      }
    }
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}
