// Softmax over the last axis (ct_softmax_forward): y = exp(x - max) / sum exp(x - max), row by row.
// Rows are split into fixed blocks (deterministic for any thread count); exp is the vectorizable
// ct::vexp. A row whose maximum is -inf or NaN yields NaN, as tfjs's own Softmax does.
#include <algorithm>
#include <exception>
#include <limits>
#include <new>

#include "ct_internal.h"
#include "vmath.h"

namespace {

constexpr int64_t kGrainElems = 1 << 14;

// Eight partial accumulators in a fixed order: the loops vectorize and the result does not depend on
// the machine's vector width.
constexpr int kLanes = 8;

void softmax_row(const float *x, float *y, int64_t cols) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float mp[kLanes];
  for (int l = 0; l < kLanes; l++) mp[l] = neg_inf;
  int64_t j = 0;
  bool nan = false;
  for (; j + kLanes <= cols; j += kLanes)
    for (int l = 0; l < kLanes; l++) {
      nan |= x[j + l] != x[j + l];
      mp[l] = x[j + l] > mp[l] ? x[j + l] : mp[l];
    }
  float m = neg_inf;
  for (; j < cols; j++) {
    nan |= x[j] != x[j];
    m = x[j] > m ? x[j] : m;
  }
  for (int l = 0; l < kLanes; l++) m = mp[l] > m ? mp[l] : m;
  if (m == neg_inf || nan) m = std::numeric_limits<float>::quiet_NaN();
  for (j = 0; j < cols; j++) y[j] = ct::vexp(x[j] - m);
  float sp[kLanes] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  for (j = 0; j + kLanes <= cols; j += kLanes)
    for (int l = 0; l < kLanes; l++) sp[l] += y[j + l];
  float sum = 0.f;
  for (; j < cols; j++) sum += y[j];
  for (int l = 0; l < kLanes; l++) sum += sp[l];
  const float inv = 1.f / sum;
  for (j = 0; j < cols; j++) y[j] *= inv;
}

}  // namespace

extern "C" ct_status ct_softmax_forward(int64_t rows, int64_t cols, const float *x, float *y) {
  if (rows < 0 || cols < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_softmax_forward: negative size (rows=%lld, cols=%lld)",
                        (long long)rows, (long long)cols);
  if (rows == 0 || cols == 0) return CT_STATUS_OK;
  if (!x || !y) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_softmax_forward: null x or y");
  try {
    const int64_t per_task = std::max<int64_t>(1, kGrainElems / cols);
    const int64_t tasks = (rows + per_task - 1) / per_task;
    auto body = [&](int64_t t) {
      const int64_t r1 = std::min(rows, (t + 1) * per_task);
      for (int64_t r = t * per_task; r < r1; r++) softmax_row(x + r * cols, y + r * cols, cols);
    };
    if (tasks > 1) ct::parallel_for(tasks, body);
    else body(0);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_softmax_forward: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_softmax_forward: %s", e.what());
  }
  return CT_STATUS_OK;
}
