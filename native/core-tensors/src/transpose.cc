// Transpose of fp32 tensors up to CT_MAX_RANK (ct_transpose_run).
//
// Normalization: size-1 dimensions are dropped and runs of input dimensions that stay adjacent and in
// order in the output are merged (e.g. [B,T,H,D] perm [0,2,1,3] stays 4-D, [B,T,C] perm [1,0,2] with
// B == 1 becomes a copy). Then:
//  * the innermost output dimension is also innermost in the input: every output row is a contiguous
//    input row (memcpy-like loop);
//  * otherwise the input's innermost dimension (stride 1) and the output's innermost dimension form a
//    2-D transpose done in 32x32 tiles (both tiles sit in L1), for every combination of the other
//    dimensions.
// Work is split over output rows / tiles; the result is an exact copy, so it is trivially deterministic.
#include <algorithm>
#include <cstring>
#include <exception>
#include <new>

#include "ct_internal.h"

namespace {

constexpr int64_t kGrain = 1 << 15;
constexpr int64_t kTile = 32;

}  // namespace

extern "C" ct_status ct_transpose_run(const float *x, const int64_t *shape, int rank, const int32_t *perm,
                                      float *out) {
  static const char *fn = "ct_transpose_run";
  if (rank < 0 || rank > CT_MAX_RANK)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: rank %d outside [0, %d]", fn, rank, CT_MAX_RANK);
  if (rank > 0 && (!shape || !perm)) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null shape or perm", fn);
  bool seen[CT_MAX_RANK] = {false, false, false, false, false, false};
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: perm is not a permutation of [0, %d)", fn, rank);
    seen[perm[i]] = true;
    if (shape[i] < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative dimension", fn);
    total *= shape[i];
  }
  if (total == 0) return CT_STATUS_OK;
  if (!x || !out) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);

  // input strides
  int64_t ist[CT_MAX_RANK];
  {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; --i) {
      ist[i] = s;
      s *= shape[i];
    }
  }
  // output dims in output order (size > 1), merging an input dim into the previous output dim when it
  // directly follows it in the input (its stride times its size equals the previous dim's stride)
  int64_t os[CT_MAX_RANK], is[CT_MAX_RANK];
  int g = 0;
  for (int j = 0; j < rank; ++j) {
    const int d = perm[j];
    if (shape[d] == 1) continue;
    if (g > 0 && is[g - 1] == ist[d] * shape[d]) {
      os[g - 1] *= shape[d];
      is[g - 1] = ist[d];
    } else {
      os[g] = shape[d];
      is[g] = ist[d];
      ++g;
    }
  }
  try {
    if (g <= 1 || (g >= 1 && is[g - 1] == 1 && [&] {
          for (int k = 0; k + 1 < g; ++k)
            if (is[k] != is[k + 1] * os[k + 1]) return false;
          return true;
        }())) {
      std::memcpy(out, x, (size_t)total * sizeof(float));
      return CT_STATUS_OK;
    }
    if (is[g - 1] == 1) {
      // contiguous rows of L = os[g-1]
      const int64_t L = os[g - 1], rows = total / L;
      const int outer = g - 1;
      const int64_t per = std::max<int64_t>(1, kGrain / L);
      const int64_t tasks = (rows + per - 1) / per;
      auto body = [&](int64_t t) {
        const int64_t r0 = t * per, r1 = std::min(rows, r0 + per);
        for (int64_t r = r0; r < r1; ++r) {
          int64_t off = 0, rem = r;
          for (int k = outer - 1; k >= 0; --k) {
            off += (rem % os[k]) * is[k];
            rem /= os[k];
          }
          std::memcpy(out + r * L, x + off, (size_t)L * sizeof(float));
        }
      };
      if (tasks > 1 && total >= 2 * kGrain) ct::parallel_for(tasks, body);
      else for (int64_t t = 0; t < tasks; ++t) body(t);
      return CT_STATUS_OK;
    }
    // 2-D tiles between output dim ja (input stride 1) and the innermost output dim jb
    int ja = -1;
    for (int k = 0; k < g; ++k)
      if (is[k] == 1) ja = k;
    if (ja < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: internal error (no unit stride)", fn);
    const int jb = g - 1;
    int64_t ost[CT_MAX_RANK];
    {
      int64_t s = 1;
      for (int k = g - 1; k >= 0; --k) {
        ost[k] = s;
        s *= os[k];
      }
    }
    const int64_t A = os[ja], B = os[jb], isb = is[jb], osa = ost[ja];
    // remaining dims (neither ja nor jb)
    int64_t rs[CT_MAX_RANK], ris[CT_MAX_RANK], ros[CT_MAX_RANK];
    int nr = 0;
    for (int k = 0; k < g; ++k) {
      if (k == ja || k == jb) continue;
      rs[nr] = os[k];
      ris[nr] = is[k];
      ros[nr] = ost[k];
      ++nr;
    }
    const int64_t outer_n = total / (A * B);
    const int64_t ta = (A + kTile - 1) / kTile, tb = (B + kTile - 1) / kTile;
    const int64_t tiles = ta * tb;
    // task = one outer combination x a band of tiles
    const int64_t tiles_per = std::max<int64_t>(1, kGrain / (kTile * kTile));
    const int64_t bands = (tiles + tiles_per - 1) / tiles_per;
    auto body = [&](int64_t t) {
      const int64_t oc = t / bands, band = t % bands;
      int64_t ioff = 0, ooff = 0, rem = oc;
      for (int k = nr - 1; k >= 0; --k) {
        const int64_t idx = rem % rs[k];
        rem /= rs[k];
        ioff += idx * ris[k];
        ooff += idx * ros[k];
      }
      const float *src = x + ioff;
      float *dst = out + ooff;
      const int64_t t0 = band * tiles_per, t1 = std::min(tiles, t0 + tiles_per);
      for (int64_t tt = t0; tt < t1; ++tt) {
        const int64_t a0 = (tt / tb) * kTile, b0 = (tt % tb) * kTile;
        const int64_t a1 = std::min(A, a0 + kTile), b1 = std::min(B, b0 + kTile);
        for (int64_t a = a0; a < a1; ++a) {
          float *__restrict d = dst + a * osa;
          const float *__restrict s = src + a;
          for (int64_t b = b0; b < b1; ++b) d[b] = s[b * isb];
        }
      }
    };
    const int64_t tasks = outer_n * bands;
    if (tasks > 1 && total >= 2 * kGrain) ct::parallel_for(tasks, body);
    else for (int64_t t = 0; t < tasks; ++t) body(t);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}
