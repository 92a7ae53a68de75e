/* Residual composition on CUDA (AnchorRefine Eq. 2 and Eq. 11, then un-normalization), one elementwise
 * kernel. Same semantics as ct_residual_compose:
 *   arm    = clamp((anchor + delta) * scale + shift, low, high)   [rows, arm_dim]
 *   prob   = clip(sigmoid(grip_logit) + grip_delta, 0, 1)           [rows]
 *   closed = prob > 0.5 (uint8 0/1)                                  [rows]
 * delta / grip_delta NULL -> 0; scale NULL -> 1, shift NULL -> 0; low / high NULL -> unbounded.
 * Each step is rounded separately (no fused multiply-add), as the expression reads. */
#include <math.h>

#include "ct_cuda_common.cuh"

namespace {

const char *const kFn = "ct_cuda_residual_compose";

struct ComposeParams {
  int64_t rows;
  int64_t arm_dim;
  const float *anchor;
  const float *delta;  // or nullptr
  const float *scale;  // or nullptr
  const float *shift;  // or nullptr
  const float *low;    // or nullptr
  const float *high;   // or nullptr
  const float *logit;
  const float *grip_delta;  // or nullptr
  float *arm;
  float *prob;
  uint8_t *closed;
};

__global__ void __launch_bounds__(256) residual_compose_kernel(const ComposeParams p) {
  const int64_t n_arm = p.rows * p.arm_dim;
  const int64_t n = n_arm > p.rows ? n_arm : p.rows;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < n; idx += step) {
    if (idx < n_arm) {
      const int64_t c = idx % p.arm_dim;  // arm_dim > 0 here
      float x = p.anchor[idx];
      if (p.delta != nullptr) x = __fadd_rn(x, p.delta[idx]);
      if (p.scale != nullptr) x = __fmul_rn(x, p.scale[c]);
      if (p.shift != nullptr) x = __fadd_rn(x, p.shift[c]);
      if (p.low != nullptr && x < p.low[c]) x = p.low[c];
      if (p.high != nullptr && x > p.high[c]) x = p.high[c];
      p.arm[idx] = x;
    }
    if (idx < p.rows) {
      const float z = p.logit[idx];
      float pr = 1.f / (1.f + expf(-z));  // z = -inf -> 0, z = +inf -> 1
      if (p.grip_delta != nullptr) pr = __fadd_rn(pr, p.grip_delta[idx]);
      pr = pr < 0.f ? 0.f : (pr > 1.f ? 1.f : pr);
      p.prob[idx] = pr;
      p.closed[idx] = pr > 0.5f ? 1 : 0;
    }
  }
}

ct_status residual_compose_impl(const ct_compose_desc *d, const float *anchor, const float *delta,
                                const float *grip_logit, const float *grip_delta, float *arm,
                                float *prob, uint8_t *closed) {
  if (d == nullptr) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: desc is NULL", kFn);
  if (d->rows < 0 || d->arm_dim < 0) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size (rows %lld, arm_dim %lld)", kFn,
                        (long long)d->rows, (long long)d->arm_dim);
  }
  int64_t n_arm = 0;
  if (!ct_cuda::checked_mul(d->rows, d->arm_dim, &n_arm) || n_arm > (int64_t)(SIZE_MAX / 8) ||
      d->rows > (int64_t)(SIZE_MAX / 8)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: tensor sizes overflow", kFn);
  }
  if (n_arm > 0 && (anchor == nullptr || arm == nullptr)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: anchor and arm must not be NULL", kFn);
  }
  if (d->rows > 0 && (grip_logit == nullptr || prob == nullptr || closed == nullptr)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: grip_logit, prob and closed must not be NULL",
                        kFn);
  }

  const ct_status dev = ct_cuda::require_device(kFn);
  if (dev != CT_STATUS_OK) return dev;
  if (d->rows == 0) return CT_STATUS_OK;

  const bool has_arm = n_arm > 0;
  const size_t arm_bytes = (size_t)n_arm * sizeof(float);
  const size_t vec_bytes = (size_t)d->arm_dim * sizeof(float);
  const size_t row_bytes = (size_t)d->rows * sizeof(float);

  ct_cuda::DeviceArena arena;
  size_t o_anchor, o_delta, o_scale, o_shift, o_low, o_high, o_logit, o_gd, o_arm, o_prob, o_closed;
  if (!arena.reserve(arm_bytes, &o_anchor) ||
      !arena.reserve(has_arm && delta ? arm_bytes : 0, &o_delta) ||
      !arena.reserve(has_arm && d->scale ? vec_bytes : 0, &o_scale) ||
      !arena.reserve(has_arm && d->shift ? vec_bytes : 0, &o_shift) ||
      !arena.reserve(has_arm && d->low ? vec_bytes : 0, &o_low) ||
      !arena.reserve(has_arm && d->high ? vec_bytes : 0, &o_high) ||
      !arena.reserve(row_bytes, &o_logit) || !arena.reserve(grip_delta ? row_bytes : 0, &o_gd) ||
      !arena.reserve(arm_bytes, &o_arm) || !arena.reserve(row_bytes, &o_prob) ||
      !arena.reserve((size_t)d->rows, &o_closed)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: device buffer size overflows", kFn);
  }
  cudaError_t err = arena.allocate();
  if (err != cudaSuccess) return ct_cuda::device_error(kFn, "cudaMalloc", err);

  ComposeParams prm{};
  prm.rows = d->rows;
  prm.arm_dim = d->arm_dim;
  prm.anchor = arena.at<float>(o_anchor);
  prm.delta = arena.at<float>(o_delta);
  prm.scale = arena.at<float>(o_scale);
  prm.shift = arena.at<float>(o_shift);
  prm.low = arena.at<float>(o_low);
  prm.high = arena.at<float>(o_high);
  prm.logit = arena.at<float>(o_logit);
  prm.grip_delta = arena.at<float>(o_gd);
  prm.arm = arena.at<float>(o_arm);
  prm.prob = arena.at<float>(o_prob);
  prm.closed = arena.at<uint8_t>(o_closed);

  using ct_cuda::copy_in;
  if ((err = copy_in(arena.at<float>(o_anchor), anchor, arm_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_delta), delta, arm_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_scale), d->scale, vec_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_shift), d->shift, vec_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_low), d->low, vec_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_high), d->high, vec_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_logit), grip_logit, row_bytes)) != cudaSuccess ||
      (err = copy_in(arena.at<float>(o_gd), grip_delta, row_bytes)) != cudaSuccess) {
    return ct_cuda::device_error(kFn, "cudaMemcpy (host to device)", err);
  }

  const int threads = 256;
  const int64_t n = n_arm > d->rows ? n_arm : d->rows;
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65536) blocks = 65536;  // grid-stride loop covers the rest
  residual_compose_kernel<<<dim3((unsigned)blocks), dim3(threads)>>>(prm);
  err = cudaGetLastError();
  if (err != cudaSuccess) return ct_cuda::device_error(kFn, "kernel launch", err);

  using ct_cuda::copy_out;
  if ((err = copy_out(arm, arena.at<float>(o_arm), arm_bytes)) != cudaSuccess ||
      (err = copy_out(prob, arena.at<float>(o_prob), row_bytes)) != cudaSuccess ||
      (err = copy_out(closed, arena.at<uint8_t>(o_closed), (size_t)d->rows)) != cudaSuccess) {
    return ct_cuda::device_error(kFn, "kernel execution / cudaMemcpy (device to host)", err);
  }
  return CT_STATUS_OK;
}

}  // namespace

extern "C" ct_status ct_cuda_residual_compose(const ct_compose_desc *d, const float *anchor,
                                              const float *delta, const float *grip_logit,
                                              const float *grip_delta, float *arm, float *prob,
                                              uint8_t *closed) {
  const ct_status st = residual_compose_impl(d, anchor, delta, grip_logit, grip_delta, arm, prob, closed);
  if (st != CT_STATUS_OK && st != CT_STATUS_INVALID_ARGUMENT) (void)cudaGetLastError();
  return st;
}
