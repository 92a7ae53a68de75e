// Flash-style multi-head attention on the CPU: forward (online softmax over key tiles, stores out and
// lse only) and FlashAttention-2-style backward (recomputes P = exp(S - lse) tile by tile).
//
// Tiles: BR query rows x BC keys. Memory is O(tile) per thread (thread_local scratch), never Tq x Tk.
// Tile products go through ct::tile_gemm (the AVX2/FMA register-tile micro-kernel of the portable GEMM,
// single-threaded); parallelism comes from ct::parallel_for over independent work items:
//   forward : (batch*head, query tile)
//   backward: (batch*head, key chunk). Each item owns the dK/dV rows of its key tiles. dQ rows are
//             written directly when one item covers all keys of a head, otherwise added under striped
//             locks; dbias (which may broadcast over any dimension) is added under a mutex.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <vector>

#include "ct_internal.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CT_AVX2 1
#else
#define CT_AVX2 0
#endif

namespace {

constexpr int BR = 64;  // query rows per tile
constexpr int BC = 64;  // keys per tile (multiple of 16: it is the N of the S = Q K^T tile product)
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

#if CT_AVX2
// exp(x) for 8 floats (Cephes polynomial, ~1 ulp); exactly 0 for x < -87.5 (so -inf -> 0).
inline __m256 exp8(__m256 x) {
  const __m256 zero_mask = _mm256_cmp_ps(x, _mm256_set1_ps(-87.5f), _CMP_LT_OQ);
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.5f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  y = _mm256_fmadd_ps(y, x2, x);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.f));
  __m256i e = _mm256_cvttps_epi32(fx);
  e = _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(zero_mask, y);
}

inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
inline float hsum8(__m256 v) {
  __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_add_ps(m, _mm_movehl_ps(m, m));
  m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
#endif

// max over n (multiple of 8 under AVX2) floats
inline float row_max(const float *s, int n) {
#if CT_AVX2
  __m256 m = _mm256_set1_ps(NEG_INF);
  int c = 0;
  for (; c + 8 <= n; c += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + c));
  float r = hmax8(m);
  for (; c < n; ++c) r = std::max(r, s[c]);
  return r;
#else
  float r = NEG_INF;
  for (int c = 0; c < n; ++c) r = std::max(r, s[c]);
  return r;
#endif
}

// s[c] = exp(s[c] - sub) in place, returns the sum.
inline float row_exp_sub(float *s, int n, float sub) {
#if CT_AVX2
  const __m256 vs = _mm256_set1_ps(sub);
  __m256 acc = _mm256_setzero_ps();
  int c = 0;
  for (; c + 8 <= n; c += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + c), vs));
    _mm256_storeu_ps(s + c, e);
    acc = _mm256_add_ps(acc, e);
  }
  float r = hsum8(acc);
  for (; c < n; ++c) {
    s[c] = std::exp(s[c] - sub);
    r += s[c];
  }
  return r;
#else
  float r = 0.f;
  for (int c = 0; c < n; ++c) {
    s[c] = std::exp(s[c] - sub);
    r += s[c];
  }
  return r;
#endif
}

inline void row_scale(float *o, int n, float a) {
  for (int c = 0; c < n; ++c) o[c] *= a;
}

struct Geometry {
  const ct_attention_desc *d;
  int64_t B, H, Tq, Tk;
  int D, Dp;  // head_dim, head_dim padded to the tile_gemm column granularity
};

// Per-thread scratch, grown on demand and kept for the thread's lifetime (O(tile) in size).
float *scratch(std::vector<float> &v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Copies rows [0, rows) of src (row stride D) into dst [rows, Dp], zero-padding columns D..Dp.
inline void copy_pad(const float *src, int rows, int D, int Dp, float *dst) {
  for (int r = 0; r < rows; ++r) {
    std::memcpy(dst + (size_t)r * Dp, src + (size_t)r * D, D * sizeof(float));
    for (int c = D; c < Dp; ++c) dst[(size_t)r * Dp + c] = 0.f;
  }
}

// dst[D, BC] = src[cols, D]^T, columns cols..BC zero.
inline void transpose_tile(const float *src, int cols, int D, float *dst) {
  for (int p = 0; p < D; ++p) {
    float *drow = dst + (size_t)p * BC;
    for (int c = 0; c < cols; ++c) drow[c] = src[(size_t)c * D + p];
    for (int c = cols; c < BC; ++c) drow[c] = 0.f;
  }
}

// key_ok[c] = 1 when key j0 + c exists and is not padded; returns how many are.
inline int key_tile_mask(const Geometry &g, int64_t b, int64_t j0, int cols, uint8_t *key_ok) {
  const uint8_t *kpm = g.d->key_padding_mask ? g.d->key_padding_mask + b * g.Tk + j0 : nullptr;
  int n = 0;
  for (int c = 0; c < BC; ++c) {
    key_ok[c] = c < cols && !(kpm && kpm[c]);
    n += key_ok[c];
  }
  return n;
}

// S[rows, BC] = scale * Q K^T + bias, with -inf where masked (padding, causal, out-of-range columns).
// q: rows x D (row stride D); kt: D x BC (transposed key tile).
inline void score_tile(const Geometry &g, int64_t b, int64_t h, int64_t i0, int rows, int64_t j0,
                       const uint8_t *key_ok, const float *q, const float *kt, float *S) {
  const ct_attention_desc *d = g.d;
  ct::tile_gemm(rows, BC, g.D, q, g.D, false, kt, BC, S, BC, d->scale, false);
  const float *bias = d->bias;
  const int64_t s0 = d->bias_strides[0], s1 = d->bias_strides[1], s2 = d->bias_strides[2],
                s3 = d->bias_strides[3];
  for (int r = 0; r < rows; ++r) {
    float *sr = S + (size_t)r * BC;
    const int64_t i = i0 + r;
    // causal: key j visible iff j <= i, i.e. c <= i - j0
    const int64_t lim = d->causal ? std::min<int64_t>(BC, std::max<int64_t>(0, i - j0 + 1)) : BC;
    if (bias) {
      const float *br = bias + b * s0 + h * s1 + i * s2 + j0 * s3;
      for (int c = 0; c < lim; ++c) sr[c] = key_ok[c] ? sr[c] + br[c * s3] : NEG_INF;
    } else {
      for (int c = 0; c < lim; ++c)
        if (!key_ok[c]) sr[c] = NEG_INF;
    }
    for (int64_t c = lim; c < BC; ++c) sr[c] = NEG_INF;
  }
}

ct_status check_desc(const char *fn, const ct_attention_desc *d) {
  if (!d) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null descriptor", fn);
  if (d->batch < 0 || d->heads < 0 || d->q_len < 0 || d->k_len < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "%s: negative size (batch=%lld, heads=%lld, q_len=%lld, k_len=%lld)", fn,
                        (long long)d->batch, (long long)d->heads, (long long)d->q_len, (long long)d->k_len);
  if (d->head_dim < 1 || d->head_dim > 256)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: head_dim=%lld must be in [1, 256]", fn,
                        (long long)d->head_dim);
  if (d->bias)
    for (int i = 0; i < 4; ++i)
      if (d->bias_strides[i] < 0)
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: bias_strides[%d]=%lld is negative", fn, i,
                            (long long)d->bias_strides[i]);
  return CT_STATUS_OK;
}

void forward_impl(const ct_attention_desc *d, const float *q, const float *k, const float *v, float *out,
                  float *lse) {
  Geometry g{d, d->batch, d->heads, d->q_len, d->k_len, (int)d->head_dim, 0};
  const int align = ct::tile_gemm_n_align();
  g.Dp = (g.D + align - 1) / align * align;
  const int64_t BH = g.B * g.H;
  const int64_t nqt = (g.Tq + BR - 1) / BR;
  const int64_t items = BH * nqt;

  auto item = [&](int64_t it) {
    const int64_t bh = it / nqt, qt = it % nqt;
    const int64_t b = bh / g.H, h = bh % g.H;
    const int64_t i0 = qt * BR;
    const int rows = (int)std::min<int64_t>(BR, g.Tq - i0);
    const int D = g.D, Dp = g.Dp;
    thread_local std::vector<float> buf;
    float *base = scratch(buf, (size_t)D * BC + (size_t)BC * Dp + (size_t)BR * BC + (size_t)BR * Dp + 2 * BR);
    float *KT = base, *Vp = KT + (size_t)D * BC, *S = Vp + (size_t)BC * Dp, *O = S + (size_t)BR * BC,
          *m = O + (size_t)BR * Dp, *l = m + BR;
    uint8_t key_ok[BC];

    const float *qb = q + (bh * g.Tq + i0) * D;
    const float *kb = k + bh * g.Tk * D;
    const float *vb = v + bh * g.Tk * D;
    std::fill(O, O + (size_t)rows * Dp, 0.f);
    std::fill(m, m + rows, NEG_INF);
    std::fill(l, l + rows, 0.f);

    const int64_t k_end = d->causal ? std::min<int64_t>(g.Tk, i0 + rows) : g.Tk;
    for (int64_t j0 = 0; j0 < k_end; j0 += BC) {
      const int cols = (int)std::min<int64_t>(BC, g.Tk - j0);
      if (key_tile_mask(g, b, j0, cols, key_ok) == 0) continue;
      transpose_tile(kb + j0 * D, cols, D, KT);
      const float *vt = vb + j0 * D;
      if (Dp != D) {
        copy_pad(vt, cols, D, Dp, Vp);
        vt = Vp;
      }
      score_tile(g, b, h, i0, rows, j0, key_ok, qb, KT, S);
      for (int r = 0; r < rows; ++r) {
        float *sr = S + (size_t)r * BC;
        const float mx = row_max(sr, BC);
        const float m_new = std::max(m[r], mx);
        if (m_new == NEG_INF) {  // nothing visible in this row so far
          std::fill(sr, sr + BC, 0.f);
          continue;
        }
        const float corr = m[r] == NEG_INF ? 0.f : std::exp(m[r] - m_new);
        const float sum = row_exp_sub(sr, BC, m_new);
        if (corr != 1.f) row_scale(O + (size_t)r * Dp, Dp, corr);
        l[r] = l[r] * corr + sum;
        m[r] = m_new;
      }
      ct::tile_gemm(rows, Dp, cols, S, BC, false, vt, Dp, O, Dp, 1.f, true);
    }
    float *ob = out + (bh * g.Tq + i0) * D;
    for (int r = 0; r < rows; ++r) {
      const bool any = l[r] > 0.f;
      const float inv = any ? 1.f / l[r] : 0.f;
      for (int c = 0; c < D; ++c) ob[(size_t)r * D + c] = O[(size_t)r * Dp + c] * inv;
      if (lse) lse[bh * g.Tq + i0 + r] = any ? m[r] + std::log(l[r]) : NEG_INF;
    }
  };
  ct::parallel_for(items, item);
}

void backward_impl(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                   const float *out, const float *lse, const float *dout, float *dq, float *dk, float *dv,
                   float *dbias) {
  Geometry g{d, d->batch, d->heads, d->q_len, d->k_len, (int)d->head_dim, 0};
  const int align = ct::tile_gemm_n_align();
  g.Dp = (g.D + align - 1) / align * align;
  const int D = g.D, Dp = g.Dp;
  const int64_t BH = g.B * g.H;
  const int64_t nqt = (g.Tq + BR - 1) / BR, nkt = (g.Tk + BC - 1) / BC;
  const int threads = ct::pool_threads();

  // Pass 1: Di = rowsum(dO * O), dq = 0.
  std::vector<float> Di((size_t)(BH * g.Tq));
  ct::parallel_for(BH, [&](int64_t bh) {
    for (int64_t i = 0; i < g.Tq; ++i) {
      const size_t row = (size_t)(bh * g.Tq + i);
      const float *o = out + row * D, *dO = dout + row * D;
      float s = 0.f;
      for (int c = 0; c < D; ++c) s += o[c] * dO[c];
      Di[row] = s;
      std::fill(dq + row * D, dq + row * D + D, 0.f);
    }
  });
  if (g.Tk == 0) return;

  // Pass 2: work items (bh, chunk of key tiles).
  int64_t chunks = 1;
  if (BH < 4 * threads) chunks = std::min<int64_t>(nkt, (4 * threads + BH - 1) / BH);
  const bool shared_dq = chunks > 1;
  const bool lock_dbias = dbias && threads > 1 && BH * chunks > 1;
  constexpr int NSTRIPES = 64;
  std::mutex dq_locks[NSTRIPES];
  std::mutex dbias_lock;
  const int64_t s0 = d->bias_strides[0], s1 = d->bias_strides[1], s2 = d->bias_strides[2],
                s3 = d->bias_strides[3];
  const float scale = d->scale;

  auto item = [&](int64_t it) {
    const int64_t bh = it / chunks, ch = it % chunks;
    const int64_t b = bh / g.H, h = bh % g.H;
    const int64_t kt_begin = ch * nkt / chunks, kt_end = (ch + 1) * nkt / chunks;
    thread_local std::vector<float> buf;
    const size_t nKT = (size_t)D * BC, nKp = (size_t)BC * Dp, nAcc = (size_t)BC * Dp, nQp = (size_t)BR * Dp,
                 nS = (size_t)BR * BC;
    float *base = scratch(buf, 2 * nKT + nKp + 2 * nAcc + 2 * nQp + 2 * nS + nQp);
    float *KT = base, *VT = KT + nKT, *Kp = VT + nKT, *dKa = Kp + nKp, *dVa = dKa + nAcc, *Qp = dVa + nAcc,
          *dOp = Qp + nQp, *P = dOp + nQp, *dS = P + nS, *dQt = dS + nS;
    uint8_t key_ok[BC];

    const float *qb = q + bh * g.Tq * D, *kb = k + bh * g.Tk * D, *vb = v + bh * g.Tk * D;
    const float *dob = dout + bh * g.Tq * D, *lseb = lse + bh * g.Tq, *Dib = Di.data() + bh * g.Tq;
    float *dqb = dq + bh * g.Tq * D;

    for (int64_t kt = kt_begin; kt < kt_end; ++kt) {
      const int64_t j0 = kt * BC;
      const int cols = (int)std::min<int64_t>(BC, g.Tk - j0);
      std::fill(dKa, dKa + (size_t)cols * Dp, 0.f);
      std::fill(dVa, dVa + (size_t)cols * Dp, 0.f);
      const bool any_key = key_tile_mask(g, b, j0, cols, key_ok) > 0;
      if (any_key) {
        transpose_tile(kb + j0 * D, cols, D, KT);
        transpose_tile(vb + j0 * D, cols, D, VT);
        const float *kp = kb + j0 * D;
        if (Dp != D) {
          copy_pad(kp, cols, D, Dp, Kp);
          kp = Kp;
        }
        // causal: query i sees key j iff j <= i; the first query tile that sees key j0 holds row j0.
        const int64_t qt_begin = d->causal ? j0 / BR : 0;
        for (int64_t qt = qt_begin; qt < nqt; ++qt) {
          const int64_t i0 = qt * BR;
          const int rows = (int)std::min<int64_t>(BR, g.Tq - i0);
          const float *qt_ptr = qb + i0 * D, *do_ptr = dob + i0 * D;
          const float *qp = qt_ptr, *dop = do_ptr;
          if (Dp != D) {
            copy_pad(qt_ptr, rows, D, Dp, Qp);
            copy_pad(do_ptr, rows, D, Dp, dOp);
            qp = Qp;
            dop = dOp;
          }
          // P = exp(S - lse)
          score_tile(g, b, h, i0, rows, j0, key_ok, qt_ptr, KT, P);
          bool any = false;
          for (int r = 0; r < rows; ++r) {
            float *pr = P + (size_t)r * BC;
            const float L = lseb[i0 + r];
            if (L == NEG_INF || std::isnan(L)) {
              std::fill(pr, pr + BC, 0.f);
            } else {
              row_exp_sub(pr, BC, L);
              any = true;
            }
          }
          if (!any) continue;
          // dV += P^T dO
          ct::tile_gemm(cols, Dp, rows, P, BC, true, dop, Dp, dVa, Dp, 1.f, true);
          // dP = dO V^T ; dS = P * (dP - Di)
          ct::tile_gemm(rows, BC, D, do_ptr, D, false, VT, BC, dS, BC, 1.f, false);
          for (int r = 0; r < rows; ++r) {
            float *sr = dS + (size_t)r * BC;
            const float *pr = P + (size_t)r * BC;
            const float di = Dib[i0 + r];
            for (int c = 0; c < BC; ++c) sr[c] = pr[c] * (sr[c] - di);
          }
          // dbias += dS (broadcast dimensions summed)
          if (dbias) {
            std::unique_lock<std::mutex> lk(dbias_lock, std::defer_lock);
            if (lock_dbias) lk.lock();
            for (int r = 0; r < rows; ++r) {
              float *br = dbias + b * s0 + h * s1 + (i0 + r) * s2 + j0 * s3;
              const float *sr = dS + (size_t)r * BC;
              for (int c = 0; c < cols; ++c) br[c * s3] += sr[c];
            }
          }
          // dK += scale * dS^T Q
          ct::tile_gemm(cols, Dp, rows, dS, BC, true, qp, Dp, dKa, Dp, scale, true);
          // dQ += scale * dS K
          ct::tile_gemm(rows, Dp, cols, dS, BC, false, kp, Dp, dQt, Dp, scale, false);
          std::unique_lock<std::mutex> lk(dq_locks[(bh * nqt + qt) % NSTRIPES], std::defer_lock);
          if (shared_dq) lk.lock();
          for (int r = 0; r < rows; ++r) {
            float *dqr = dqb + (i0 + r) * D;
            const float *src = dQt + (size_t)r * Dp;
            for (int c = 0; c < D; ++c) dqr[c] += src[c];
          }
        }
      }
      float *dkb = dk + (bh * g.Tk + j0) * D, *dvb = dv + (bh * g.Tk + j0) * D;
      for (int c = 0; c < cols; ++c) {
        std::memcpy(dkb + (size_t)c * D, dKa + (size_t)c * Dp, D * sizeof(float));
        std::memcpy(dvb + (size_t)c * D, dVa + (size_t)c * Dp, D * sizeof(float));
      }
    }
  };
  ct::parallel_for(BH * chunks, item);
}

}  // namespace

extern "C" ct_status ct_attention_forward(const ct_attention_desc *d, const float *q, const float *k,
                                          const float *v, float *out, float *lse) {
  ct_status st = check_desc("ct_attention_forward", d);
  if (st != CT_STATUS_OK) return st;
  const int64_t nq = d->batch * d->heads * d->q_len, nk = d->batch * d->heads * d->k_len;
  if (nq == 0) return CT_STATUS_OK;
  if (!q || !out || (nk > 0 && (!k || !v)))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_forward: null tensor pointer");
  try {
    forward_impl(d, q, k, v, out, lse);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_attention_forward: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_forward: %s", e.what());
  }
  return CT_STATUS_OK;
}

extern "C" ct_status ct_attention_backward(const ct_attention_desc *d, const float *q, const float *k,
                                           const float *v, const float *out, const float *lse,
                                           const float *dout, float *dq, float *dk, float *dv,
                                           float *dbias) {
  ct_status st = check_desc("ct_attention_backward", d);
  if (st != CT_STATUS_OK) return st;
  if (dbias && !d->bias)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "ct_attention_backward: dbias given but the descriptor has no bias (its layout)");
  const int64_t nq = d->batch * d->heads * d->q_len, nk = d->batch * d->heads * d->k_len;
  if ((nq > 0 && (!q || !out || !lse || !dout || !dq)) || (nk > 0 && (!k || !v || !dk || !dv)))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_backward: null tensor pointer");
  try {
    if (nq == 0) {
      if (nk > 0) {
        std::fill(dk, dk + nk * d->head_dim, 0.f);
        std::fill(dv, dv + nk * d->head_dim, 0.f);
      }
      return CT_STATUS_OK;
    }
    backward_impl(d, q, k, v, out, lse, dout, dq, dk, dv, dbias);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_attention_backward: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_backward: %s", e.what());
  }
  return CT_STATUS_OK;
}
