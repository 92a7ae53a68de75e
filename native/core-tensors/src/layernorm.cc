// Layer normalization over the last axis (ct_layernorm_forward / ct_layernorm_backward).
//
// Forward, per row: two-pass mean and biased variance accumulated in double (4 independent lanes),
// rstd = 1/sqrt(var + eps), y = (x - mean) * rstd * gamma + beta. mean and rstd are saved.
// Backward (dx may alias dy), per row, with xhat = (x - mean) * rstd and g = dy * gamma:
//   dx = rstd * (g - mean_j(g) - xhat * mean_j(g * xhat))
//   dgamma[j] = sum_r dy * xhat,  dbeta[j] = sum_r dy
// dgamma/dbeta are reduced deterministically: rows are cut into fixed blocks of kRowBlock rows (not
// per thread), every block writes its own partial row, and the partials are summed in block order.
#include <algorithm>
#include <cmath>
#include <exception>
#include <new>
#include <vector>

#include "ct_internal.h"

namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel task
constexpr int64_t kRowBlock = 64;    // rows per dgamma/dbeta partial

ct_status check(const char *fn, int64_t rows, int64_t dim) {
  if (rows < 0 || dim < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size (rows=%lld, dim=%lld)", fn, (long long)rows,
                        (long long)dim);
  return CT_STATUS_OK;
}

template <class F>
void for_rows(int64_t rows, int64_t dim, F &&fn) {
  const int64_t per = std::max<int64_t>(1, kGrain / std::max<int64_t>(dim, 1));
  const int64_t tasks = (rows + per - 1) / per;
  auto body = [&](int64_t t) {
    const int64_t r0 = t * per, r1 = std::min(rows, r0 + per);
    for (int64_t r = r0; r < r1; ++r) fn(r);
  };
  if (tasks > 1) ct::parallel_for(tasks, body);
  else if (tasks == 1) body(0);
}

}  // namespace

extern "C" ct_status ct_layernorm_forward(int64_t rows, int64_t dim, float eps, const float *x, const float *gamma,
                                          const float *beta, float *y, float *mean, float *rstd) {
  static const char *fn = "ct_layernorm_forward";
  ct_status st = check(fn, rows, dim);
  if (st != CT_STATUS_OK) return st;
  if (rows == 0) return CT_STATUS_OK;
  if ((dim > 0 && (!x || !y)) || !mean || !rstd)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);
  try {
    for_rows(rows, dim, [&](int64_t r) {
      const float *__restrict xr = x + r * dim;
      float *__restrict yr = y + r * dim;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t j = 0;
      for (; j + 4 <= dim; j += 4) {
        s0 += xr[j];
        s1 += xr[j + 1];
        s2 += xr[j + 2];
        s3 += xr[j + 3];
      }
      for (; j < dim; ++j) s0 += xr[j];
      const double mu = dim > 0 ? ((s0 + s1) + (s2 + s3)) / (double)dim : 0.0;
      double v0 = 0, v1 = 0, v2 = 0, v3 = 0;
      j = 0;
      for (; j + 4 <= dim; j += 4) {
        const double d0 = xr[j] - mu, d1 = xr[j + 1] - mu, d2 = xr[j + 2] - mu, d3 = xr[j + 3] - mu;
        v0 += d0 * d0;
        v1 += d1 * d1;
        v2 += d2 * d2;
        v3 += d3 * d3;
      }
      for (; j < dim; ++j) {
        const double d = xr[j] - mu;
        v0 += d * d;
      }
      const double var = dim > 0 ? ((v0 + v1) + (v2 + v3)) / (double)dim : 0.0;
      const float rs = (float)(1.0 / std::sqrt(var + (double)eps));
      const float m = (float)mu;
      mean[r] = m;
      rstd[r] = rs;
      if (gamma && beta) {
        for (int64_t k = 0; k < dim; ++k) yr[k] = (xr[k] - m) * rs * gamma[k] + beta[k];
      } else if (gamma) {
        for (int64_t k = 0; k < dim; ++k) yr[k] = (xr[k] - m) * rs * gamma[k];
      } else if (beta) {
        for (int64_t k = 0; k < dim; ++k) yr[k] = (xr[k] - m) * rs + beta[k];
      } else {
        for (int64_t k = 0; k < dim; ++k) yr[k] = (xr[k] - m) * rs;
      }
    });
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}

extern "C" ct_status ct_layernorm_backward(int64_t rows, int64_t dim, const float *x, const float *gamma,
                                           const float *mean, const float *rstd, const float *dy, float *dx,
                                           float *dgamma, float *dbeta) {
  static const char *fn = "ct_layernorm_backward";
  ct_status st = check(fn, rows, dim);
  if (st != CT_STATUS_OK) return st;
  if (dim == 0) return CT_STATUS_OK;
  if (rows > 0 && (!x || !mean || !rstd || !dy || !dx))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);
  try {
    // dgamma / dbeta first (they read dy; dx may alias dy)
    if (dgamma || dbeta) {
      const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
      if (blocks == 0) {
        for (int64_t j = 0; j < dim; ++j) {
          if (dgamma) dgamma[j] = 0.f;
          if (dbeta) dbeta[j] = 0.f;
        }
      }
      if (blocks > 0) {
        std::vector<double> pg(dgamma ? (size_t)(blocks * dim) : 0), pb(dbeta ? (size_t)(blocks * dim) : 0);
      auto block = [&](int64_t b) {
        double *__restrict g = dgamma ? pg.data() + b * dim : nullptr;
        double *__restrict bb = dbeta ? pb.data() + b * dim : nullptr;
        const int64_t r0 = b * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
        for (int64_t r = r0; r < r1; ++r) {
          const float *__restrict xr = x + r * dim;
          const float *__restrict dyr = dy + r * dim;
          const float m = mean[r], rs = rstd[r];
          if (g)
            for (int64_t j = 0; j < dim; ++j) g[j] += (double)(dyr[j] * ((xr[j] - m) * rs));
          if (bb)
            for (int64_t j = 0; j < dim; ++j) bb[j] += (double)dyr[j];
        }
      };
      if (blocks > 1 && rows * dim >= 2 * kGrain) ct::parallel_for(blocks, block);
      else for (int64_t b = 0; b < blocks; ++b) block(b);
      for (int64_t j = 0; j < dim; ++j) {
        double sg = 0, sb = 0;
        for (int64_t b = 0; b < blocks; ++b) {
          if (dgamma) sg += pg[(size_t)(b * dim + j)];
          if (dbeta) sb += pb[(size_t)(b * dim + j)];
        }
        if (dgamma) dgamma[j] = (float)sg;
        if (dbeta) dbeta[j] = (float)sb;
      }
      }
    }
    // dx, row by row
    if (rows > 0) {
      for_rows(rows, dim, [&](int64_t r) {
        const float *__restrict xr = x + r * dim;
        const float *dyr = dy + r * dim;  // may alias dxr
        float *dxr = dx + r * dim;
        const float m = mean[r], rs = rstd[r];
        // dxr doubles as scratch for g = dy * gamma (then overwritten with dx)
        if (gamma) {
          for (int64_t j = 0; j < dim; ++j) dxr[j] = dyr[j] * gamma[j];
        } else {
          for (int64_t j = 0; j < dim; ++j) dxr[j] = dyr[j];
        }
        // sum g and sum g * xhat = rs * sum g * (x - m)
        double sg = 0, sgx = 0, sgm = 0;
        {
          double g0 = 0, g1 = 0, q0 = 0, q1 = 0;
          int64_t j = 0;
          for (; j + 2 <= dim; j += 2) {
            g0 += dxr[j];
            g1 += dxr[j + 1];
            q0 += (double)dxr[j] * (xr[j] - m);
            q1 += (double)dxr[j + 1] * (xr[j + 1] - m);
          }
          for (; j < dim; ++j) {
            g0 += dxr[j];
            q0 += (double)dxr[j] * (xr[j] - m);
          }
          sg = g0 + g1;
          sgm = q0 + q1;
        }
        sgx = sgm * rs;
        const float c_g = (float)(sg / (double)dim);
        const float c_x = (float)(sgx / (double)dim);
        for (int64_t j = 0; j < dim; ++j) {
          const float xhat = (xr[j] - m) * rs;
          dxr[j] = rs * (dxr[j] - c_g - xhat * c_x);
        }
      });
    }
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}
