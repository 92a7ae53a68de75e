// Residual composition (AnchorRefine Eq. 2 and Eq. 11, then un-normalization) and its gradient.
//
//   y      = (anchor + delta) * scale + shift        (scale NULL = 1, shift NULL = 0, per arm dim)
//   arm    = clamp(y, low, high)                     (low NULL = -inf, high NULL = +inf)
//   p      = sigmoid(grip_logit) + grip_delta
//   prob   = clip(p, 0, 1),  closed = prob > 0.5
//
// Gradient conventions (sub-gradients at the kinks are 0):
//   d(anchor) = d(delta) = d_arm * scale * [low < y < high]   (strict: y equal to a bound gets 0)
//   d_grip_delta = d_prob * [0 < p < 1]                       (strict: p exactly 0 or 1 gets 0)
//   d_logit      = d_grip_delta * sigmoid * (1 - sigmoid)
// NULL delta / grip_delta mean zeros; NULL d_arm / d_prob mean zero upstream gradients.
#include <cmath>
#include <exception>

#include "ct_internal.h"

namespace {

inline float sigmoid(float x) {
  if (x >= 0.f) return 1.f / (1.f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.f + e);
}

ct_status check(const char *fn, const ct_compose_desc *d) {
  if (!d) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null descriptor", fn);
  if (d->rows < 0 || d->arm_dim < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size (rows=%lld, arm_dim=%lld)", fn,
                        (long long)d->rows, (long long)d->arm_dim);
  return CT_STATUS_OK;
}

}  // namespace

extern "C" ct_status ct_residual_compose(const ct_compose_desc *d, const float *anchor, const float *delta,
                                         const float *grip_logit, const float *grip_delta, float *arm,
                                         float *prob, uint8_t *closed) {
  ct_status st = check("ct_residual_compose", d);
  if (st != CT_STATUS_OK) return st;
  const int64_t R = d->rows, A = d->arm_dim;
  if ((R * A > 0 && (!anchor || !arm)) || (R > 0 && (!grip_logit || !prob || !closed)))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_residual_compose: null tensor pointer");
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t j = 0; j < A; ++j) {
      const int64_t i = r * A + j;
      float x = anchor[i] + (delta ? delta[i] : 0.f);
      float y = x * (d->scale ? d->scale[j] : 1.f) + (d->shift ? d->shift[j] : 0.f);
      if (d->low && y < d->low[j]) y = d->low[j];
      if (d->high && y > d->high[j]) y = d->high[j];
      arm[i] = y;
    }
    float p = sigmoid(grip_logit[r]) + (grip_delta ? grip_delta[r] : 0.f);
    p = p < 0.f ? 0.f : (p > 1.f ? 1.f : p);
    prob[r] = p;
    closed[r] = p > 0.5f ? 1 : 0;
  }
  return CT_STATUS_OK;
}

extern "C" ct_status ct_residual_compose_backward(const ct_compose_desc *d, const float *anchor,
                                                  const float *delta, const float *grip_logit,
                                                  const float *grip_delta, const float *d_arm,
                                                  const float *d_prob, float *d_arm_in, float *d_logit,
                                                  float *d_grip_delta) {
  ct_status st = check("ct_residual_compose_backward", d);
  if (st != CT_STATUS_OK) return st;
  const int64_t R = d->rows, A = d->arm_dim;
  if ((d_arm_in && R * A > 0 && !anchor) || ((d_logit || d_grip_delta) && R > 0 && !grip_logit))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_residual_compose_backward: null tensor pointer");
  if (d_arm_in) {
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t j = 0; j < A; ++j) {
        const int64_t i = r * A + j;
        if (!d_arm) {
          d_arm_in[i] = 0.f;
          continue;
        }
        const float s = d->scale ? d->scale[j] : 1.f;
        const float x = anchor[i] + (delta ? delta[i] : 0.f);
        const float y = x * s + (d->shift ? d->shift[j] : 0.f);
        const bool inside = (!d->low || y > d->low[j]) && (!d->high || y < d->high[j]);
        d_arm_in[i] = inside ? d_arm[i] * s : 0.f;
      }
    }
  }
  if (d_logit || d_grip_delta) {
    for (int64_t r = 0; r < R; ++r) {
      float g = 0.f, gl = 0.f;
      if (d_prob) {
        const float sg = sigmoid(grip_logit[r]);
        const float p = sg + (grip_delta ? grip_delta[r] : 0.f);
        g = (p > 0.f && p < 1.f) ? d_prob[r] : 0.f;
        gl = g * sg * (1.f - sg);
      }
      if (d_grip_delta) d_grip_delta[r] = g;
      if (d_logit) d_logit[r] = gl;
    }
  }
  return CT_STATUS_OK;
}
