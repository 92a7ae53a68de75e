// Portable GEMM: cache-blocked (BLIS-style jc/pc/ic loops), packed A and B panels, a 6x16 AVX2/FMA
// register-tile micro-kernel (a plain C++ path of the same shape when AVX2/FMA are not available),
// threaded over row blocks with ct::parallel_for. Also tile_gemm, the unpacked variant of the same
// micro-kernel that the attention kernels use on L1/L2-resident tiles.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ct_internal.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CT_AVX2 1
#else
#define CT_AVX2 0
#endif

namespace ct {
namespace {

constexpr int MR = 6;    // micro-tile rows
constexpr int NR = 16;   // micro-tile columns (two 8-float vectors)
constexpr int KC = 256;  // depth of a packed block
constexpr int MC = 96;   // rows of a packed A block (multiple of MR)
constexpr int NC = 2048; // columns of a packed B block (multiple of NR)

// C[rows<=R, 16] (=|+=) alpha * sum_p A(i, p) * B[p, 0:16]
// A(i, p) = TA ? A[p * lda + i] : A[i * lda + p]
#if CT_AVX2
// Accumulators are named variables (not arrays) so that GCC keeps all 12 in ymm registers.
template <int R, bool TA>
inline void ukr(int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, float alpha,
                bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const size_t as = TA ? 1 : (size_t)lda;  // distance between rows i and i+1 of op(A)
  const size_t ap = TA ? (size_t)lda : 1;  // distance between columns p and p+1 of op(A)
  const float *a = A;
  const float *b = B;
  for (int p = 0; p < K; ++p, a += ap, b += ldb) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#define CT_ROW(i)                                         \
  if constexpr (R > i) {                                  \
    const __m256 av = _mm256_broadcast_ss(a + i * as);    \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);           \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);           \
  }
    CT_ROW(0) CT_ROW(1) CT_ROW(2) CT_ROW(3) CT_ROW(4) CT_ROW(5)
#undef CT_ROW
  }
  const __m256 va = _mm256_set1_ps(alpha);
#define CT_STORE(i)                                                                        \
  if constexpr (R > i) {                                                                   \
    float *cr = C + (size_t)i * ldc;                                                       \
    if (accumulate) {                                                                      \
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, c##i##0, _mm256_loadu_ps(cr)));             \
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, c##i##1, _mm256_loadu_ps(cr + 8)));     \
    } else {                                                                               \
      _mm256_storeu_ps(cr, _mm256_mul_ps(va, c##i##0));                                    \
      _mm256_storeu_ps(cr + 8, _mm256_mul_ps(va, c##i##1));                                \
    }                                                                                      \
  }
  CT_STORE(0) CT_STORE(1) CT_STORE(2) CT_STORE(3) CT_STORE(4) CT_STORE(5)
#undef CT_STORE
}
#else
template <int R, bool TA>
inline void ukr(int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc, float alpha,
                bool accumulate) {
  float acc[R][NR];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.f;
  for (int p = 0; p < K; ++p) {
    const float *bp = B + (size_t)p * ldb;
    for (int i = 0; i < R; ++i) {
      const float av = TA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
      for (int j = 0; j < NR; ++j) acc[i][j] += av * bp[j];
    }
  }
  for (int i = 0; i < R; ++i) {
    float *cr = C + (size_t)i * ldc;
    for (int j = 0; j < NR; ++j) cr[j] = accumulate ? cr[j] + alpha * acc[i][j] : alpha * acc[i][j];
  }
}
#endif

template <bool TA>
inline void ukr_rows(int r, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                     float alpha, bool accumulate) {
  switch (r) {
    case 6: ukr<6, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
    case 5: ukr<5, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
    case 4: ukr<4, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
    case 3: ukr<3, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
    case 2: ukr<2, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
    default: ukr<1, TA>(K, A, lda, B, ldb, C, ldc, alpha, accumulate); break;
  }
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row panels, k-major inside a panel, zero padded.
void pack_a(bool ta, const float *a, int64_t lda, int64_t i0, int mc, int64_t p0, int kc, float *dst) {
  for (int r0 = 0; r0 < mc; r0 += MR) {
    const int rows = std::min(MR, mc - r0);
    float *d = dst + (size_t)r0 * kc;
    if (ta) {  // A stored [k, m]: op(A)(i, p) = a[p * lda + i], contiguous in i
      for (int p = 0; p < kc; ++p) {
        const float *s = a + (size_t)(p0 + p) * lda + i0 + r0;
        int i = 0;
        for (; i < rows; ++i) d[p * MR + i] = s[i];
        for (; i < MR; ++i) d[p * MR + i] = 0.f;
      }
    } else {  // A stored [m, k]
      for (int i = 0; i < MR; ++i) {
        if (i < rows) {
          const float *s = a + (size_t)(i0 + r0 + i) * lda + p0;
          for (int p = 0; p < kc; ++p) d[p * MR + i] = s[p];
        } else {
          for (int p = 0; p < kc; ++p) d[p * MR + i] = 0.f;
        }
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0 + panel*NR : +NR] into one NR-column panel, k-major, zero padded.
void pack_b_panel(bool tb, const float *b, int64_t ldb, int64_t p0, int kc, int64_t j0, int cols,
                  float *d) {
  if (tb) {  // B stored [n, k]: op(B)(p, j) = b[j * ldb + p]
    for (int j = 0; j < NR; ++j) {
      if (j < cols) {
        const float *s = b + (size_t)(j0 + j) * ldb + p0;
        for (int p = 0; p < kc; ++p) d[p * NR + j] = s[p];
      } else {
        for (int p = 0; p < kc; ++p) d[p * NR + j] = 0.f;
      }
    }
  } else {
    for (int p = 0; p < kc; ++p) {
      const float *s = b + (size_t)(p0 + p) * ldb + j0;
      float *dd = d + p * NR;
      if (cols == NR) {
        std::memcpy(dd, s, NR * sizeof(float));
      } else {
        int j = 0;
        for (; j < cols; ++j) dd[j] = s[j];
        for (; j < NR; ++j) dd[j] = 0.f;
      }
    }
  }
}

void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  if (beta == 1.f) return;
  for (int64_t i = 0; i < m; ++i) {
    float *cr = c + i * ldc;
    if (beta == 0.f) {
      std::fill(cr, cr + n, 0.f);  // beta = 0 ignores whatever C held (NaN included)
    } else {
      for (int64_t j = 0; j < n; ++j) cr[j] *= beta;
    }
  }
}

}  // namespace

const char *simd_name() {
#if CT_AVX2
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx (scalar micro-kernel)";
#elif defined(__SSE2__)
  return "sse2 (scalar micro-kernel)";
#elif defined(__ARM_NEON)
  return "neon (scalar micro-kernel)";
#else
  return "scalar";
#endif
}

int tile_gemm_n_align() { return CT_AVX2 ? 16 : 1; }

void tile_gemm(int M, int N, int K, const float *A, int lda, bool trans_a, const float *B, int ldb,
               float *C, int ldc, float alpha, bool accumulate) {
#if CT_AVX2
  for (int j0 = 0; j0 < N; j0 += NR) {
    for (int i0 = 0; i0 < M; i0 += MR) {
      const int r = std::min(MR, M - i0);
      if (trans_a)
        ukr_rows<true>(r, K, A + i0, lda, B + j0, ldb, C + (size_t)i0 * ldc + j0, ldc, alpha, accumulate);
      else
        ukr_rows<false>(r, K, A + (size_t)i0 * lda, lda, B + j0, ldb, C + (size_t)i0 * ldc + j0, ldc,
                        alpha, accumulate);
    }
  }
#else
  for (int i = 0; i < M; ++i) {
    float *cr = C + (size_t)i * ldc;
    float tmp[1024];
    for (int j0 = 0; j0 < N; j0 += 1024) {
      const int nn = std::min(1024, N - j0);
      for (int j = 0; j < nn; ++j) tmp[j] = 0.f;
      for (int p = 0; p < K; ++p) {
        const float av = trans_a ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        const float *bp = B + (size_t)p * ldb + j0;
        for (int j = 0; j < nn; ++j) tmp[j] += av * bp[j];
      }
      for (int j = 0; j < nn; ++j) cr[j0 + j] = accumulate ? cr[j0 + j] + alpha * tmp[j] : alpha * tmp[j];
    }
  }
#endif
}

void gemm_portable(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   bool threaded) {
  if (m <= 0 || n <= 0) return;
  scale_c(m, n, beta, c, ldc);
  if (k <= 0 || alpha == 0.f) return;

  const int threads = threaded ? pool_threads() : 1;
  const int64_t nc_max = std::min<int64_t>(NC, (n + NR - 1) / NR * NR);
  std::vector<float> bpack((size_t)KC * nc_max);

  for (int64_t jc = 0; jc < n; jc += NC) {
    const int nc = (int)std::min<int64_t>(NC, n - jc);
    const int npanels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int kc = (int)std::min<int64_t>(KC, k - pc);
      float *bp = bpack.data();

      auto pack_b = [&](int64_t s) {
        pack_b_panel(tb, b, ldb, pc, kc, jc + s * NR, std::min(NR, nc - (int)s * NR), bp + (size_t)s * NR * kc);
      };
      if (threads > 1 && npanels > 1 && (int64_t)kc * nc >= 16384) {
        const int64_t groups = std::min<int64_t>(npanels, 4 * threads);
        parallel_for(groups, [&](int64_t g) {
          for (int64_t s = g * npanels / groups; s < (g + 1) * npanels / groups; ++s) pack_b(s);
        });
      } else {
        for (int s = 0; s < npanels; ++s) pack_b(s);
      }

      // Work items: row blocks x column groups (column groups only when rows alone cannot feed the pool).
      int mc = MC;
      if (threads > 1 && m < (int64_t)MC * 2 * threads) {
        mc = (int)std::max<int64_t>(MR, ((m + 2 * threads - 1) / (2 * threads) + MR - 1) / MR * MR);
      }
      const int64_t mblocks = (m + mc - 1) / mc;
      int64_t ngroups = 1;
      if (threads > 1 && mblocks < 2 * threads) ngroups = std::min<int64_t>(npanels, (2 * threads + mblocks - 1) / mblocks);

      auto item = [&](int64_t it) {
        const int64_t mb = it / ngroups, g = it % ngroups;
        const int64_t i0 = mb * mc;
        const int rows = (int)std::min<int64_t>(mc, m - i0);
        const int s_begin = (int)(g * npanels / ngroups), s_end = (int)((g + 1) * npanels / ngroups);
        thread_local std::vector<float> apack;
        const size_t need = (size_t)((rows + MR - 1) / MR * MR) * kc;
        if (apack.size() < need) apack.resize(need);
        pack_a(ta, a, lda, i0, rows, pc, kc, apack.data());
        alignas(32) float tmp[MR * NR];
        for (int s = s_begin; s < s_end; ++s) {
          const int cols = std::min(NR, nc - s * NR);
          const float *bpanel = bp + (size_t)s * NR * kc;
          for (int r0 = 0; r0 < rows; r0 += MR) {
            const int r = std::min(MR, rows - r0);
            const float *apanel = apack.data() + (size_t)r0 * kc;
            float *cc = c + (size_t)(i0 + r0) * ldc + jc + (size_t)s * NR;
            if (cols == NR) {
              ukr_rows<true>(r, kc, apanel, MR, bpanel, NR, cc, (int)ldc, alpha, true);
            } else {
              ukr_rows<true>(r, kc, apanel, MR, bpanel, NR, tmp, NR, alpha, false);
              for (int i = 0; i < r; ++i)
                for (int j = 0; j < cols; ++j) cc[(size_t)i * ldc + j] += tmp[i * NR + j];
            }
          }
        }
      };
      const int64_t items = mblocks * ngroups;
      if (threads > 1 && items > 1)
        parallel_for(items, item);
      else
        for (int64_t it = 0; it < items; ++it) item(it);
    }
  }
}

}  // namespace ct
