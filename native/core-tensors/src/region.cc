// ct_region_copy: copies a box of `size` from src (at src_begin) into dst (at dst_begin), both dense
// row-major arrays of rank <= CT_MAX_RANK. It is the whole of the Slice kernel (dst = the box) and of
// PadV2 (dst pre-filled with the pad value, the box = all of src). Innermost runs are memcpy'd; rows are
// split into fixed blocks over the pool (each dst element is written by exactly one task).
#include <algorithm>
#include <cstring>
#include <exception>
#include <new>

#include "ct_internal.h"

namespace {

constexpr int64_t kGrainElems = 1 << 15;

}  // namespace

extern "C" ct_status ct_region_copy(const float *src, const int64_t *src_shape, const int64_t *src_begin,
                                    float *dst, const int64_t *dst_shape, const int64_t *dst_begin,
                                    const int64_t *size, int rank) {
  if (rank < 0 || rank > CT_MAX_RANK)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_region_copy: rank %d outside [0, %d]", rank, CT_MAX_RANK);
  int64_t count = 1;
  for (int d = 0; d < rank; d++) {
    if (size[d] < 0 || src_begin[d] < 0 || dst_begin[d] < 0 || src_begin[d] + size[d] > src_shape[d] ||
        dst_begin[d] + size[d] > dst_shape[d])
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                          "ct_region_copy: dim %d: box [%lld, +%lld) does not fit src %lld or dst [%lld, +%lld) in %lld",
                          d, (long long)src_begin[d], (long long)size[d], (long long)src_shape[d],
                          (long long)dst_begin[d], (long long)size[d], (long long)dst_shape[d]);
    count *= size[d];
  }
  if (count == 0) return CT_STATUS_OK;
  if (!src || !dst) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_region_copy: null src or dst");
  if (rank == 0) {
    dst[0] = src[0];
    return CT_STATUS_OK;
  }
  int64_t ss[CT_MAX_RANK], ds[CT_MAX_RANK];  // element strides
  ss[rank - 1] = ds[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) {
    ss[d] = ss[d + 1] * src_shape[d + 1];
    ds[d] = ds[d + 1] * dst_shape[d + 1];
  }
  const int64_t inner = size[rank - 1];
  const int64_t rows = count / inner;
  int64_t src0 = 0, dst0 = 0;
  for (int d = 0; d < rank; d++) {
    src0 += src_begin[d] * ss[d];
    dst0 += dst_begin[d] * ds[d];
  }
  // Row r of the box: its outer index tuple decoded from r over size[0..rank-2].
  auto copy_rows = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t rem = r, so = src0, doff = dst0;
      for (int d = rank - 2; d >= 0; d--) {
        const int64_t i = rem % size[d];
        rem /= size[d];
        so += i * ss[d];
        doff += i * ds[d];
      }
      std::memcpy(dst + doff, src + so, (size_t)inner * sizeof(float));
    }
  };
  try {
    const int64_t per_task = std::max<int64_t>(1, kGrainElems / inner);
    const int64_t tasks = (rows + per_task - 1) / per_task;
    if (tasks > 1)
      ct::parallel_for(tasks, [&](int64_t t) { copy_rows(t * per_task, std::min(rows, (t + 1) * per_task)); });
    else
      copy_rows(0, rows);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_region_copy: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_region_copy: %s", e.what());
  }
  return CT_STATUS_OK;
}
