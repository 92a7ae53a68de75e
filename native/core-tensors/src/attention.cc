// Flash-style multi-head attention on the CPU: forward (online softmax over key tiles, stores out and
// lse only) and FlashAttention-2-style backward (recomputes P = exp(S - lse) tile by tile).
//
// Tiles: BR query rows x BC keys. Memory is O(tile) per thread (thread_local scratch), never Tq x Tk.
// Tile products go through ct::tile_gemm (the AVX2/FMA register-tile micro-kernel of the portable GEMM,
// single-threaded); parallelism comes from ct::parallel_for over independent work items:
//   forward  : (batch*head, query tile)
//   backward : (batch*head, key chunk). Each item owns the dK/dV rows of its key tiles. Chunk 0 adds
//              its dQ contributions straight into dq, chunk c > 0 into its own partial buffer, and a
//              last pass adds the partials to dq in chunk order.
//   bias grad: blocks of dbias elements owned by one item (non-broadcast batch/head, query tile, key
//              tile); the broadcast dimensions are looped over inside, in a fixed order.
// Determinism: every partition depends on the shapes only (kMinItems, never the thread count), each
// float sum is formed by one item in a fixed order or reduced in a fixed order afterwards, and there
// are no atomics or locks on sums. Results are bit-identical across runs and thread counts.
// Layouts: q, k, v, out (and dq, dk, dv, dout) are addressed through Layout strides over (batch, head,
// token) with a contiguous head_dim row, so [B,H,T,D], [B,T,H,D] and the packed [B,T,3,H,D] run the
// same arithmetic (a row's stride is only the leading dimension of a tile product, never part of a
// sum's order): results are bit-identical across layouts too. Outputs are written row by row, only at
// the rows their layout addresses (no whole-buffer fill), so interleaved dq/dk/dv views of one buffer
// never clobber each other, and each row is written by exactly one work item of a pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
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

// Element strides of one tensor over (batch, head, token); the head_dim row is contiguous.
struct Layout {
  int64_t b, h, t;
  template <class T>
  T *at(T *base, int64_t bi, int64_t hi, int64_t ti) const {
    return base + bi * b + hi * h + ti * t;
  }
};

// The descriptor's strides s[3] for a tensor of T tokens, or the dense [B,H,T,D] layout when all are 0.
Layout layout_of(const int64_t s[3], int64_t H, int64_t T, int64_t D) {
  if (s[0] == 0 && s[1] == 0 && s[2] == 0) return Layout{H * T * D, T * D, D};
  return Layout{s[0], s[1], s[2]};
}

struct Geometry {
  const ct_attention_desc *d;
  int64_t B, H, Tq, Tk;
  int D, Dp;              // head_dim, head_dim padded to the tile_gemm column granularity
  Layout lq, lk, lv, lo;  // q (and dq), k (dk), v (dv), out (dout)
};

// Geometry of d with Dp = D (callers that pad set Dp themselves).
Geometry geometry_of(const ct_attention_desc *d) {
  const int64_t H = d->heads, D = d->head_dim;
  return Geometry{d, d->batch, H, d->q_len, d->k_len, (int)D, (int)D,
                  layout_of(d->q_strides, H, d->q_len, D), layout_of(d->k_strides, H, d->k_len, D),
                  layout_of(d->v_strides, H, d->k_len, D), layout_of(d->o_strides, H, d->q_len, D)};
}

// Per-thread scratch, grown on demand and kept for the thread's lifetime (O(tile) in size).
float *scratch(std::vector<float> &v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Copies rows [0, rows) of src (row stride ld) into dst [rows, Dp], zero-padding columns D..Dp.
inline void copy_pad(const float *src, int rows, int64_t ld, int D, int Dp, float *dst) {
  for (int r = 0; r < rows; ++r) {
    std::memcpy(dst + (size_t)r * Dp, src + r * ld, D * sizeof(float));
    for (int c = D; c < Dp; ++c) dst[(size_t)r * Dp + c] = 0.f;
  }
}

// dst[D, BC] = src[cols, D]^T (src row stride ld), columns cols..BC zero.
inline void transpose_tile(const float *src, int cols, int64_t ld, int D, float *dst) {
  for (int p = 0; p < D; ++p) {
    float *drow = dst + (size_t)p * BC;
    for (int c = 0; c < cols; ++c) drow[c] = src[c * ld + p];
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
// q: rows x D (row stride ldq); kt: D x BC (transposed key tile).
inline void score_tile(const Geometry &g, int64_t b, int64_t h, int64_t i0, int rows, int64_t j0,
                       const uint8_t *key_ok, const float *q, int ldq, const float *kt, float *S) {
  const ct_attention_desc *d = g.d;
  ct::tile_gemm(rows, BC, g.D, q, ldq, false, kt, BC, S, BC, d->scale, false);
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

// True when the layout addresses every (b, h, t, c) of the extents at a distinct element: sorted by
// stride (head_dim: 1), each stride of an extent > 1 exceeds the span of the smaller ones.
bool layout_injective(const Layout &L, int64_t B, int64_t H, int64_t T, int64_t D) {
  const int64_t st[4] = {L.b, L.h, L.t, 1}, ext[4] = {B, H, T, D};
  int idx[4], n = 0;
  for (int i = 0; i < 4; ++i) {
    if (ext[i] == 0) return true;  // nothing is addressed
    if (ext[i] > 1) idx[n++] = i;
  }
  for (int x = 1; x < n; ++x)
    for (int y = x; y > 0 && st[idx[y]] < st[idx[y - 1]]; --y) std::swap(idx[y], idx[y - 1]);
  int64_t span = 0;
  for (int t = 0; t < n; ++t) {
    const int i = idx[t];
    int64_t term;
    if (st[i] <= span || __builtin_mul_overflow(ext[i] - 1, st[i], &term) ||
        __builtin_add_overflow(span, term, &span))
      return false;
  }
  return true;
}

// Which layouts a call writes through (they must be injective).
enum class Writes { kNone, kOut, kGrads };

ct_status check_desc(const char *fn, const ct_attention_desc *d, Writes writes) {
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
  const char *names[4] = {"q_strides", "k_strides", "v_strides", "o_strides"};
  const int64_t *strides[4] = {d->q_strides, d->k_strides, d->v_strides, d->o_strides};
  for (int a = 0; a < 4; ++a)
    for (int i = 0; i < 3; ++i) {
      if (strides[a][i] < 0)
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s[%d]=%lld is negative", fn, names[a], i,
                            (long long)strides[a][i]);
      if (i == 2 && strides[a][i] > std::numeric_limits<int>::max())
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s[2]=%lld (the token stride) exceeds INT_MAX",
                            fn, names[a], (long long)strides[a][i]);
    }
  // the layouts written through: out (forward) or q, k, v (the backward's dq, dk, dv)
  const Geometry g = geometry_of(d);
  struct Written {
    int name;  // index into names
    const Layout *layout;
    int64_t len;
  };
  Written written[3];
  int n = 0;
  if (writes == Writes::kOut) written[n++] = {3, &g.lo, g.Tq};
  if (writes == Writes::kGrads) {
    written[n++] = {0, &g.lq, g.Tq};
    written[n++] = {1, &g.lk, g.Tk};
    written[n++] = {2, &g.lv, g.Tk};
  }
  for (int w = 0; w < n; ++w) {
    const Layout &L = *written[w].layout;
    if (!layout_injective(L, g.B, g.H, written[w].len, g.D))
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                          "%s: %s {%lld, %lld, %lld} address some element twice (batch=%lld, heads=%lld, "
                          "len=%lld, head_dim=%lld); a layout that is written must not overlap itself",
                          fn, names[written[w].name], (long long)L.b, (long long)L.h, (long long)L.t,
                          (long long)g.B, (long long)g.H, (long long)written[w].len, (long long)g.D);
  }
  return CT_STATUS_OK;
}

void forward_impl(const ct_attention_desc *d, const float *q, const float *k, const float *v, float *out,
                  float *lse) {
  Geometry g = geometry_of(d);
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

    const float *qb = g.lq.at(q, b, h, i0);
    const float *kb = g.lk.at(k, b, h, 0);
    const float *vb = g.lv.at(v, b, h, 0);
    const int ldq = (int)g.lq.t;
    std::fill(O, O + (size_t)rows * Dp, 0.f);
    std::fill(m, m + rows, NEG_INF);
    std::fill(l, l + rows, 0.f);

    const int64_t k_end = d->causal ? std::min<int64_t>(g.Tk, i0 + rows) : g.Tk;
    for (int64_t j0 = 0; j0 < k_end; j0 += BC) {
      const int cols = (int)std::min<int64_t>(BC, g.Tk - j0);
      if (key_tile_mask(g, b, j0, cols, key_ok) == 0) continue;
      transpose_tile(kb + j0 * g.lk.t, cols, g.lk.t, D, KT);
      const float *vt = vb + j0 * g.lv.t;
      int ldv = (int)g.lv.t;
      if (Dp != D) {
        copy_pad(vt, cols, g.lv.t, D, Dp, Vp);
        vt = Vp;
        ldv = Dp;
      }
      score_tile(g, b, h, i0, rows, j0, key_ok, qb, ldq, KT, S);
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
      ct::tile_gemm(rows, Dp, cols, S, BC, false, vt, ldv, O, Dp, 1.f, true);
    }
    float *ob = g.lo.at(out, b, h, i0);
    for (int r = 0; r < rows; ++r) {
      const bool any = l[r] > 0.f;
      const float inv = any ? 1.f / l[r] : 0.f;
      float *orow = ob + r * g.lo.t;
      for (int c = 0; c < D; ++c) orow[c] = O[(size_t)r * Dp + c] * inv;
      if (lse) lse[bh * g.Tq + i0 + r] = any ? m[r] + std::log(l[r]) : NEG_INF;
    }
  };
  ct::parallel_for(items, item);
}

// Work items a parallel loop is split into at least, where the problem allows it. A constant, NOT the
// thread count: every work partition (and so every floating-point summation order) depends on the
// shapes only, which makes the results bit-identical for any thread count and any scheduling.
constexpr int64_t kMinItems = 64;
// Key chunks of the backward span at least this many key tiles: each chunk > 0 costs a zero-filled dQ
// partial of Tq x D floats written once per key tile and read once by the reduction, so short chunks
// would make the split memory-bound (measured: 1 tile/chunk was ~30% slower at B*H=1, T=4096; 4 ~4%).
constexpr int64_t kMinChunkKeyTiles = 4;
// Cap on the dQ partial buffers of the key-chunked backward, in floats (64 MiB).
constexpr int64_t kMaxPartialFloats = int64_t(1) << 24;
// Query tiles per owned block of the bias gradient (see bias_grad_impl).
constexpr int64_t kQBlock = 8;

// Di[bh*Tq + i] = rowsum(dO * O) for every query row; also zero-fills the rows of dq (its layout's rows
// only: a packed dq's sibling dk/dv elements are not touched) when dq is not NULL.
void rowsum_do_o(const Geometry &g, const float *out, const float *dout, float *Di, float *dq) {
  const int D = g.D;
  ct::parallel_for(g.B * g.H, [&](int64_t bh) {
    const int64_t b = bh / g.H, h = bh % g.H;
    for (int64_t i = 0; i < g.Tq; ++i) {
      const float *o = g.lo.at(out, b, h, i), *dO = g.lo.at(dout, b, h, i);
      float s = 0.f;
      for (int c = 0; c < D; ++c) s += o[c] * dO[c];
      Di[bh * g.Tq + i] = s;
      if (dq) {
        float *dqr = g.lq.at(dq, b, h, i);
        std::fill(dqr, dqr + D, 0.f);
      }
    }
  });
}

// P[rows, BC] = exp(S - lse) for the query tile at row i0 (q: its rows, stride ldq) against the key
// tile at j0 (KT: transposed keys); lse points at the head's row 0. Rows with lse = -inf (they see no
// key) or NaN are zero. Returns false when every row is zero.
inline bool prob_tile(const Geometry &g, int64_t b, int64_t h, int64_t i0, int rows, int64_t j0,
                      const uint8_t *key_ok, const float *q, int ldq, const float *KT, const float *lse,
                      float *P) {
  score_tile(g, b, h, i0, rows, j0, key_ok, q, ldq, KT, P);
  bool any = false;
  for (int r = 0; r < rows; ++r) {
    float *pr = P + (size_t)r * BC;
    const float L = lse[i0 + r];
    if (L == NEG_INF || std::isnan(L)) {
      std::fill(pr, pr + BC, 0.f);
    } else {
      row_exp_sub(pr, BC, L);
      any = true;
    }
  }
  return any;
}

// dS[rows, BC] = P * (dO V^T - Di). dO: the tile's dout rows (stride ldo); VT: transposed value tile;
// Di: the tile's first row.
inline void dscore_tile(const Geometry &g, int rows, const float *dO, int ldo, const float *VT,
                        const float *P, const float *Di, float *dS) {
  ct::tile_gemm(rows, BC, g.D, dO, ldo, false, VT, BC, dS, BC, 1.f, false);
  for (int r = 0; r < rows; ++r) {
    float *sr = dS + (size_t)r * BC;
    const float *pr = P + (size_t)r * BC;
    const float di = Di[r];
    for (int c = 0; c < BC; ++c) sr[c] = pr[c] * (sr[c] - di);
  }
}

// dS tiles for the bias gradient, one (b, h, query tile, key tile) at a time, reusing the transposed
// K/V tiles while consecutive calls stay on the same (b, h, key tile).
struct DsTiles {
  const Geometry &g;
  const float *q, *k, *v, *lse, *dout, *Di;
  float *KT, *VT, *P, *dS;  // caller's scratch: D*BC, D*BC, BR*BC, BR*BC floats
  int64_t cached_bh = -1, cached_kt = -1;
  int nkey = 0;
  uint8_t key_ok[BC] = {};

  // Fills dS (rows x BC, row stride BC) and returns true, or returns false when the tile is all zero.
  bool run(int64_t b, int64_t h, int64_t qt, int64_t kt, int *rows_out, int *cols_out) {
    const int D = g.D;
    const int64_t bh = b * g.H + h, i0 = qt * BR, j0 = kt * BC;
    const int rows = (int)std::min<int64_t>(BR, g.Tq - i0), cols = (int)std::min<int64_t>(BC, g.Tk - j0);
    *rows_out = rows;
    *cols_out = cols;
    if (g.d->causal && j0 > i0 + rows - 1) return false;  // tile above the diagonal
    if (bh != cached_bh || kt != cached_kt) {
      cached_bh = bh;
      cached_kt = kt;
      nkey = key_tile_mask(g, b, j0, cols, key_ok);
      if (nkey > 0) {
        transpose_tile(g.lk.at(k, b, h, j0), cols, g.lk.t, D, KT);
        transpose_tile(g.lv.at(v, b, h, j0), cols, g.lv.t, D, VT);
      }
    }
    if (nkey == 0) return false;
    if (!prob_tile(g, b, h, i0, rows, j0, key_ok, g.lq.at(q, b, h, i0), (int)g.lq.t, KT, lse + bh * g.Tq, P))
      return false;
    dscore_tile(g, rows, g.lo.at(dout, b, h, i0), (int)g.lo.t, VT, P, Di + bh * g.Tq + i0, dS);
    return true;
  }
};

// dbias (layout d->bias_strides) = dS summed over the broadcast dimensions; written, or added to when
// accumulate. Di: rowsum(dO * O) when the caller has it, else NULL.
//
// Partition: a dimension is OWNED when its stride is nonzero and its extent > 1, otherwise BROADCAST.
// A work item owns one index of each owned dimension (batch, head, block of kQBlock 64-row query tiles,
// 64-key tile), i.e. a block of dbias elements no other item touches, and loops over the broadcast
// dimensions inside, in the fixed order batch, head, key tile, query tile (its own query tiles last). When there are fewer than kMinItems owned blocks the
// broadcast loop is cut into G fixed groups whose partial blocks are then added in group order. Layouts
// whose owned dimensions alias (non-injective strides) take a serial pass.
void bias_grad_impl(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                    const float *out, const float *lse, const float *dout, const float *Di_in, float *dbias,
                    bool accumulate) {
  const Geometry g = geometry_of(d);  // Dp = D: only score tiles, no padded operands
  if (g.B == 0 || g.H == 0 || g.Tq == 0 || g.Tk == 0) return;  // no element is addressed
  const int D = g.D;
  const int64_t nqt = (g.Tq + BR - 1) / BR, nkt = (g.Tk + BC - 1) / BC;
  std::vector<float> di_own;
  const float *Di = Di_in;
  if (!Di) {
    di_own.resize((size_t)(g.B * g.H * g.Tq));
    rowsum_do_o(g, out, dout, di_own.data(), nullptr);
    Di = di_own.data();
  }
  const int64_t *st = d->bias_strides;
  const int64_t ext[4] = {g.B, g.H, g.Tq, g.Tk};
  bool own[4];
  for (int i = 0; i < 4; ++i) own[i] = st[i] != 0 && ext[i] > 1;

  // Owned dimensions address distinct elements when, sorted by stride, each stride exceeds the span
  // of the smaller ones (true for every dense or broadcast layout).
  bool injective = true;
  {
    int idx[4], n = 0;
    for (int i = 0; i < 4; ++i)
      if (own[i]) idx[n++] = i;
    for (int x = 1; x < n; ++x)  // insertion sort by stride (at most 4 entries)
      for (int y = x; y > 0 && st[idx[y]] < st[idx[y - 1]]; --y) std::swap(idx[y], idx[y - 1]);
    int64_t span = 0;
    for (int t = 0; t < n; ++t) {
      const int i = idx[t];
      if (st[i] <= span) injective = false;
      span += (ext[i] - 1) * st[i];
    }
  }

  const size_t nKT = (size_t)D * BC, nS = (size_t)BR * BC;
  if (!injective) {
    if (!accumulate)
      for (int64_t b = 0; b < g.B; ++b)
        for (int64_t h = 0; h < g.H; ++h)
          for (int64_t i = 0; i < g.Tq; ++i)
            for (int64_t j = 0; j < g.Tk; ++j) dbias[b * st[0] + h * st[1] + i * st[2] + j * st[3]] = 0.f;
    std::vector<float> buf(2 * nKT + 2 * nS);
    DsTiles t{g, q, k, v, lse, dout, Di, buf.data(), buf.data() + nKT, buf.data() + 2 * nKT,
              buf.data() + 2 * nKT + nS};
    for (int64_t b = 0; b < g.B; ++b)
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t kt = 0; kt < nkt; ++kt)
          for (int64_t qt = 0; qt < nqt; ++qt) {
            int rows, cols;
            if (!t.run(b, h, qt, kt, &rows, &cols)) continue;
            for (int r = 0; r < rows; ++r) {
              float *br = dbias + b * st[0] + h * st[1] + (qt * BR + r) * st[2] + kt * BC * st[3];
              const float *sr = t.dS + (size_t)r * BC;
              for (int c = 0; c < cols; ++c) br[c * st[3]] += sr[c];
            }
          }
    return;
  }

  // An owned query dimension is taken in blocks of kQBlock query tiles, looped innermost, so each
  // item transposes a K/V tile once per (batch, head, key tile) and reuses it for the whole block.
  const int64_t nqb = (nqt + kQBlock - 1) / kQBlock;
  const int64_t no[4] = {own[0] ? g.B : 1, own[1] ? g.H : 1, own[2] ? nqb : 1, own[3] ? nkt : 1};
  const int64_t nb[4] = {own[0] ? 1 : g.B, own[1] ? 1 : g.H, own[2] ? 1 : nqt, own[3] ? 1 : nkt};
  const int64_t owned = no[0] * no[1] * no[2] * no[3];
  const int64_t F = nb[0] * nb[1] * nb[2] * nb[3];
  int64_t G = 1;
  if (owned < kMinItems) G = std::max<int64_t>(1, std::min<int64_t>(F, (kMinItems + owned - 1) / owned));
  const size_t nAcc = (size_t)(own[2] ? std::min<int64_t>(kQBlock * BR, g.Tq) : 1) * BC;  // block rows x BC
  std::vector<float> part(G > 1 ? (size_t)(owned * G) * nAcc : 0);

  struct Block {
    int64_t ob, oh, oq, ok;  // oq: query block (kQBlock tiles)
    int rows, cols;          // extent of the owned block in dbias (1 along a broadcast q / k)
  };
  auto block = [&](int64_t o) {
    Block bl;
    bl.ok = o % no[3];
    o /= no[3];
    bl.oq = o % no[2];
    o /= no[2];
    bl.oh = o % no[1];
    bl.ob = o / no[1];
    bl.rows = own[2] ? (int)std::min<int64_t>(kQBlock * BR, g.Tq - bl.oq * kQBlock * BR) : 1;
    bl.cols = own[3] ? (int)std::min<int64_t>(BC, g.Tk - bl.ok * BC) : 1;
    return bl;
  };
  auto store = [&](const Block &bl, const float *acc) {
    const int64_t base = (own[0] ? bl.ob * st[0] : 0) + (own[1] ? bl.oh * st[1] : 0) +
                         (own[2] ? bl.oq * kQBlock * BR * st[2] : 0) + (own[3] ? bl.ok * BC * st[3] : 0);
    const int64_t rs = own[2] ? st[2] : 0, cs = own[3] ? st[3] : 0;
    for (int r = 0; r < bl.rows; ++r)
      for (int c = 0; c < bl.cols; ++c) {
        float *p = dbias + base + r * rs + c * cs;
        const float x = acc[(size_t)r * BC + c];
        *p = accumulate ? *p + x : x;
      }
  };

  ct::parallel_for(owned * G, [&](int64_t it) {
    const int64_t o = it / G, grp = it % G;
    const Block bl = block(o);
    thread_local std::vector<float> buf;
    float *base = scratch(buf, 2 * nKT + 2 * nS + nAcc);
    DsTiles t{g, q, k, v, lse, dout, Di, base, base + nKT, base + 2 * nKT, base + 2 * nKT + nS};
    float *acc = G > 1 ? part.data() + (size_t)it * nAcc : base + 2 * nKT + 2 * nS;
    std::fill(acc, acc + (size_t)bl.rows * BC, 0.f);
    for (int64_t f = grp * F / G, f_end = (grp + 1) * F / G; f < f_end; ++f) {
      int64_t x = f;
      const int64_t fq = x % nb[2];
      x /= nb[2];
      const int64_t fk = x % nb[3];
      x /= nb[3];
      const int64_t fh = x % nb[1], fb = x / nb[1];
      const int64_t b = own[0] ? bl.ob : fb, h = own[1] ? bl.oh : fh, kt = own[3] ? bl.ok : fk;
      const int64_t qt_lo = own[2] ? bl.oq * kQBlock : fq;
      const int64_t qt_hi = own[2] ? std::min<int64_t>(nqt, qt_lo + kQBlock) : fq + 1;
      for (int64_t qt = qt_lo; qt < qt_hi; ++qt) {
        int rows, cols;
        if (!t.run(b, h, qt, kt, &rows, &cols)) continue;
        const float *dS = t.dS;
        float *a = own[2] ? acc + (size_t)(qt - qt_lo) * BR * BC : acc;  // this tile's rows of the block
        if (own[2] && own[3]) {
          for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) a[(size_t)r * BC + c] += dS[(size_t)r * BC + c];
        } else if (own[2]) {  // key dimension broadcast: row sums
          for (int r = 0; r < rows; ++r) {
            float s = 0.f;
            for (int c = 0; c < cols; ++c) s += dS[(size_t)r * BC + c];
            a[(size_t)r * BC] += s;
          }
        } else if (own[3]) {  // query dimension broadcast: column sums, rows in order
          for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) a[c] += dS[(size_t)r * BC + c];
        } else {
          for (int r = 0; r < rows; ++r) {
            float s = 0.f;
            for (int c = 0; c < cols; ++c) s += dS[(size_t)r * BC + c];
            a[0] += s;
          }
        }
      }
    }
    if (G == 1) store(bl, acc);
  });
  if (G > 1) {
    ct::parallel_for(owned, [&](int64_t o) {
      const Block bl = block(o);
      thread_local std::vector<float> buf;
      float *acc = scratch(buf, nAcc);
      const size_t n = (size_t)bl.rows * BC;
      const float *p0 = part.data() + (size_t)(o * G) * nAcc;
      std::copy(p0, p0 + n, acc);
      for (int64_t grp = 1; grp < G; ++grp) {
        const float *p = p0 + (size_t)grp * nAcc;
        for (size_t e = 0; e < n; ++e) acc[e] += p[e];
      }
      store(bl, acc);
    });
  }
}

void backward_impl(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                   const float *out, const float *lse, const float *dout, float *dq, float *dk, float *dv,
                   float *dbias) {
  Geometry g = geometry_of(d);
  const int align = ct::tile_gemm_n_align();
  g.Dp = (g.D + align - 1) / align * align;
  const int D = g.D, Dp = g.Dp;
  const int64_t BH = g.B * g.H;
  const int64_t nqt = (g.Tq + BR - 1) / BR, nkt = (g.Tk + BC - 1) / BC;

  // Pass 1: Di = rowsum(dO * O), dq = 0.
  std::vector<float> Di((size_t)(BH * g.Tq));
  rowsum_do_o(g, out, dout, Di.data(), dq);
  if (g.Tk == 0) return;

  // Pass 2: work items (bh, chunk of key tiles); the chunk count depends on the shapes only. Chunk 0
  // adds its dQ contributions to dq, chunk c > 0 to its own zero-filled partial buffer (rows from
  // row0[c] on: under causal masking its keys are invisible to earlier queries); pass 3 adds the
  // partials to dq in chunk order.
  int64_t chunks = 1;
  if (BH < kMinItems)
    chunks = std::min<int64_t>(std::max<int64_t>(1, nkt / kMinChunkKeyTiles), (kMinItems + BH - 1) / BH);
  if (chunks > 1) {
    const int64_t per_chunk = std::max<int64_t>(1, BH * g.Tq * D);
    chunks = std::max<int64_t>(1, std::min<int64_t>(chunks, 1 + kMaxPartialFloats / per_chunk));
  }
  std::vector<int64_t> row0((size_t)chunks, 0), poff((size_t)chunks + 1, 0);
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t kt_begin = c * nkt / chunks;
    row0[c] = d->causal ? std::min<int64_t>(g.Tq, kt_begin * BC / BR * BR) : 0;
    poff[c + 1] = poff[c] + (c == 0 ? 0 : BH * (g.Tq - row0[c]) * D);
  }
  std::unique_ptr<float[]> part_buf(poff[chunks] > 0 ? new float[(size_t)poff[chunks]] : nullptr);  // zeroed per item
  float *const part = part_buf.get();
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

    const float *qb = g.lq.at(q, b, h, 0), *kb = g.lk.at(k, b, h, 0), *vb = g.lv.at(v, b, h, 0);
    const float *dob = g.lo.at(dout, b, h, 0), *lseb = lse + bh * g.Tq, *Dib = Di.data() + bh * g.Tq;
    const int64_t ldq = g.lq.t, ldk = g.lk.t, ldv = g.lv.t, ldo = g.lo.t;
    // dQ destination: row i of this head lives at dqb + (i - r0) * lddq (dq's own rows for chunk 0,
    // a dense partial otherwise)
    float *dqb;
    int64_t r0 = 0, lddq = ldq;
    if (ch == 0) {
      dqb = g.lq.at(dq, b, h, 0);
    } else {
      r0 = row0[ch];
      lddq = D;
      dqb = part + poff[ch] + bh * (g.Tq - r0) * D;
      std::fill(dqb, dqb + (g.Tq - r0) * D, 0.f);
    }

    for (int64_t kt = kt_begin; kt < kt_end; ++kt) {
      const int64_t j0 = kt * BC;
      const int cols = (int)std::min<int64_t>(BC, g.Tk - j0);
      std::fill(dKa, dKa + (size_t)cols * Dp, 0.f);
      std::fill(dVa, dVa + (size_t)cols * Dp, 0.f);
      const bool any_key = key_tile_mask(g, b, j0, cols, key_ok) > 0;
      if (any_key) {
        transpose_tile(kb + j0 * ldk, cols, ldk, D, KT);
        transpose_tile(vb + j0 * ldv, cols, ldv, D, VT);
        const float *kp = kb + j0 * ldk;
        int ldkp = (int)ldk;
        if (Dp != D) {
          copy_pad(kp, cols, ldk, D, Dp, Kp);
          kp = Kp;
          ldkp = Dp;
        }
        // causal: query i sees key j iff j <= i; the first query tile that sees key j0 holds row j0.
        const int64_t qt_begin = d->causal ? j0 / BR : 0;
        for (int64_t qt = qt_begin; qt < nqt; ++qt) {
          const int64_t i0 = qt * BR;
          const int rows = (int)std::min<int64_t>(BR, g.Tq - i0);
          const float *qt_ptr = qb + i0 * ldq, *do_ptr = dob + i0 * ldo;
          const float *qp = qt_ptr, *dop = do_ptr;
          int ldqp = (int)ldq, ldop = (int)ldo;
          if (Dp != D) {
            copy_pad(qt_ptr, rows, ldq, D, Dp, Qp);
            copy_pad(do_ptr, rows, ldo, D, Dp, dOp);
            qp = Qp;
            dop = dOp;
            ldqp = ldop = Dp;
          }
          // P = exp(S - lse)
          if (!prob_tile(g, b, h, i0, rows, j0, key_ok, qt_ptr, (int)ldq, KT, lseb, P)) continue;
          // dV += P^T dO
          ct::tile_gemm(cols, Dp, rows, P, BC, true, dop, ldop, dVa, Dp, 1.f, true);
          // dP = dO V^T ; dS = P * (dP - Di)
          dscore_tile(g, rows, do_ptr, (int)ldo, VT, P, Dib + i0, dS);
          // dK += scale * dS^T Q
          ct::tile_gemm(cols, Dp, rows, dS, BC, true, qp, ldqp, dKa, Dp, scale, true);
          // dQ += scale * dS K (key tiles in ascending order: a fixed summation order)
          ct::tile_gemm(rows, Dp, cols, dS, BC, false, kp, ldkp, dQt, Dp, scale, false);
          for (int r = 0; r < rows; ++r) {
            float *dqr = dqb + (i0 + r - r0) * lddq;
            const float *src = dQt + (size_t)r * Dp;
            for (int c = 0; c < D; ++c) dqr[c] += src[c];
          }
        }
      }
      // this item owns dK/dV rows [j0, j0 + cols) of head (b, h): written here, nowhere else
      float *dkb = g.lk.at(dk, b, h, j0), *dvb = g.lv.at(dv, b, h, j0);
      for (int c = 0; c < cols; ++c) {
        std::memcpy(dkb + c * ldk, dKa + (size_t)c * Dp, D * sizeof(float));
        std::memcpy(dvb + c * ldv, dVa + (size_t)c * Dp, D * sizeof(float));
      }
    }
  };
  ct::parallel_for(BH * chunks, item);

  // Pass 3: dq += partial[1] + partial[2] + ... in chunk order (each row owned by one item).
  if (chunks > 1) {
    ct::parallel_for(BH * nqt, [&](int64_t it) {
      const int64_t bh = it / nqt, i0 = (it % nqt) * BR;
      const int64_t b = bh / g.H, h = bh % g.H;
      const int64_t i1 = std::min<int64_t>(g.Tq, i0 + BR);
      for (int64_t i = i0; i < i1; ++i) {
        float *dqr = g.lq.at(dq, b, h, i);
        for (int64_t c = 1; c < chunks; ++c) {
          if (i < row0[c]) continue;
          const float *p = part + poff[c] + (bh * (g.Tq - row0[c]) + i - row0[c]) * D;
          for (int x = 0; x < D; ++x) dqr[x] += p[x];
        }
      }
    });
  }

  // dbias: a separate deterministic pass (recomputes dS; see bias_grad_impl).
  if (dbias) bias_grad_impl(d, q, k, v, out, lse, dout, Di.data(), dbias, true);
}

}  // namespace

extern "C" ct_status ct_attention_forward(const ct_attention_desc *d, const float *q, const float *k,
                                          const float *v, float *out, float *lse) {
  ct_status st = check_desc("ct_attention_forward", d, Writes::kOut);
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
  ct_status st = check_desc("ct_attention_backward", d, Writes::kGrads);
  if (st != CT_STATUS_OK) return st;
  if (dbias && !d->bias)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "ct_attention_backward: dbias given but the descriptor has no bias (its layout)");
  const int64_t nq = d->batch * d->heads * d->q_len, nk = d->batch * d->heads * d->k_len;
  if ((nq > 0 && (!q || !out || !lse || !dout || !dq)) || (nk > 0 && (!k || !v || !dk || !dv)))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_backward: null tensor pointer");
  try {
    if (nq == 0) {  // no query: dk = dv = 0, row by row through their layouts
      const Geometry g = geometry_of(d);
      for (int64_t b = 0; b < g.B; ++b)
        for (int64_t h = 0; h < g.H; ++h)
          for (int64_t j = 0; j < g.Tk; ++j) {
            float *dkr = g.lk.at(dk, b, h, j), *dvr = g.lv.at(dv, b, h, j);
            std::fill(dkr, dkr + g.D, 0.f);
            std::fill(dvr, dvr + g.D, 0.f);
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

extern "C" ct_status ct_attention_bias_grad(const ct_attention_desc *d, const float *q, const float *k,
                                            const float *v, const float *out, const float *lse,
                                            const float *dout, float *dbias) {
  ct_status st = check_desc("ct_attention_bias_grad", d, Writes::kNone);
  if (st != CT_STATUS_OK) return st;
  if (!d->bias)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "ct_attention_bias_grad: the descriptor has no bias (dbias takes its layout)");
  if (!dbias) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_bias_grad: dbias is NULL");
  const int64_t nq = d->batch * d->heads * d->q_len, nk = d->batch * d->heads * d->k_len;
  if (nq == 0 || nk == 0) return CT_STATUS_OK;  // no dbias element is addressed
  if (!q || !k || !v || !out || !lse || !dout)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_bias_grad: null tensor pointer");
  try {
    bias_grad_impl(d, q, k, v, out, lse, dout, nullptr, dbias, false);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_attention_bias_grad: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_attention_bias_grad: %s", e.what());
  }
  return CT_STATUS_OK;
}
