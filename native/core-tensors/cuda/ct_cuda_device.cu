/* Device discovery and the host-side helpers shared by the CUDA kernels (see ct_cuda_common.cuh). */
#include "ct_cuda_common.cuh"

namespace ct_cuda {

ct_status require_device(const char *fn) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError(); /* no driver / no device is not sticky: clear it */
    return ct_error_set(CT_STATUS_NO_DEVICE, "%s: no usable CUDA device (%s)", fn,
                        cudaGetErrorString(err));
  }
  if (count <= 0) {
    return ct_error_set(CT_STATUS_NO_DEVICE, "%s: no usable CUDA device (device count is 0)", fn);
  }
  return CT_STATUS_OK;
}

ct_status device_error(const char *fn, const char *what, cudaError_t err) {
  (void)cudaGetLastError(); /* clear the error state unless it is sticky (then nothing can) */
  return ct_error_set(CT_STATUS_DEVICE_ERROR, "%s: %s failed: %s (%s)", fn, what,
                      cudaGetErrorString(err), cudaGetErrorName(err));
}

bool checked_mul(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > INT64_MAX / a) return false;
  *out = a * b;
  return true;
}

bool checked_add(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0) return false;
  if (a > INT64_MAX - b) return false;
  *out = a + b;
  return true;
}

DeviceArena::~DeviceArena() {
  if (base_ != nullptr) {
    (void)cudaFree(base_);
    base_ = nullptr;
  }
}

bool DeviceArena::reserve(size_t bytes, size_t *offset) {
  if (bytes == 0) {
    *offset = SIZE_MAX;
    return true;
  }
  const size_t align = 256;
  if (size_ > SIZE_MAX - (align - 1)) return false;
  const size_t start = (size_ + (align - 1)) & ~(align - 1);
  if (bytes > SIZE_MAX - start) return false;
  *offset = start;
  size_ = start + bytes;
  return true;
}

cudaError_t DeviceArena::allocate() {
  if (base_ != nullptr || size_ == 0) return cudaSuccess;
  void *p = nullptr;
  const cudaError_t err = cudaMalloc(&p, size_);
  if (err == cudaSuccess) base_ = p;
  return err;
}

cudaError_t copy_in(void *dst, const void *src, size_t bytes) {
  if (bytes == 0 || dst == nullptr || src == nullptr) return cudaSuccess;
  return cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
}

cudaError_t copy_out(void *dst, const void *src, size_t bytes) {
  if (bytes == 0 || dst == nullptr || src == nullptr) return cudaSuccess;
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
}

}  // namespace ct_cuda

extern "C" int ct_cuda_device_count(void) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count > 0 ? count : 0;
}
