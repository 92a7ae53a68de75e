// Stand-ins for the ct_cuda_* kernels, compiled when the addon is built without CUDA
// (nvcc not found, no cuda/*.cu sources, or -DCORE_TENSORS_WITH_CUDA=OFF).
#include "ct_internal.h"

extern "C" int ct_cuda_device_count(void) { return 0; }

extern "C" ct_status ct_cuda_attention_forward(const ct_attention_desc *, const float *, const float *,
                                               const float *, float *, float *) {
  return ct_error_set(CT_STATUS_NOT_COMPILED,
                      "ct_cuda_attention_forward: the addon was built without CUDA "
                      "(rebuild with nvcc on PATH and -DCORE_TENSORS_WITH_CUDA=ON)");
}

extern "C" ct_status ct_cuda_residual_compose(const ct_compose_desc *, const float *, const float *,
                                              const float *, const float *, float *, float *,
                                              uint8_t *) {
  return ct_error_set(CT_STATUS_NOT_COMPILED,
                      "ct_cuda_residual_compose: the addon was built without CUDA "
                      "(rebuild with nvcc on PATH and -DCORE_TENSORS_WITH_CUDA=ON)");
}
