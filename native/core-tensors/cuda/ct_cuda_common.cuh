/* Host-side helpers shared by the CUDA sources (ct_cuda_*.cu). Not part of the public API.
 *
 * Every public ct_cuda_* entry point takes HOST pointers: it checks its arguments, checks that a device
 * exists (CT_STATUS_NO_DEVICE otherwise), copies the inputs into one device arena, launches, copies
 * the results back and frees the arena on every path (DeviceArena is RAII). Any CUDA runtime failure
 * becomes CT_STATUS_DEVICE_ERROR with cudaGetErrorString() in the message (ct_error_last()). */
#ifndef CT_CUDA_COMMON_CUH
#define CT_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "core_tensors.h"
#include "ct_internal.h"

namespace ct_cuda {

/* CT_STATUS_OK when at least one CUDA device is usable; otherwise records a message ("<fn>: ...") and
 * returns CT_STATUS_NO_DEVICE. Never leaves a CUDA error pending. */
ct_status require_device(const char *fn);

/* Records "<fn>: <what> failed: <cudaGetErrorString(err)>" as CT_STATUS_DEVICE_ERROR, clears the
 * (non-sticky) CUDA error state, and returns CT_STATUS_DEVICE_ERROR. */
ct_status device_error(const char *fn, const char *what, cudaError_t err);

/* Overflow-checked int64 arithmetic on non-negative operands (false on overflow or negative input). */
bool checked_mul(int64_t a, int64_t b, int64_t *out);
bool checked_add(int64_t a, int64_t b, int64_t *out);

/* One cudaMalloc holding every buffer of a call. Reserve all regions first (each 256-byte aligned),
 * then allocate(); the destructor frees it on every path. Zero-byte regions yield nullptr. */
class DeviceArena {
 public:
  DeviceArena() = default;
  ~DeviceArena();
  DeviceArena(const DeviceArena &) = delete;
  DeviceArena &operator=(const DeviceArena &) = delete;

  /* Reserves `bytes`; returns the region handle through *offset (SIZE_MAX for an empty region).
   * Returns false when the total size would overflow. */
  bool reserve(size_t bytes, size_t *offset);
  cudaError_t allocate();
  template <class T>
  T *at(size_t offset) const {
    if (offset == SIZE_MAX || base_ == nullptr) return nullptr;
    return reinterpret_cast<T *>(static_cast<char *>(base_) + offset);
  }
  size_t size() const { return size_; }

 private:
  void *base_ = nullptr;
  size_t size_ = 0;
};

/* Host->device copy of `bytes` (no-op for 0 bytes or null pointers). */
cudaError_t copy_in(void *dst, const void *src, size_t bytes);
/* Device->host copy of `bytes` (no-op for 0 bytes or null pointers). */
cudaError_t copy_out(void *dst, const void *src, size_t bytes);

}  // namespace ct_cuda

#endif /* CT_CUDA_COMMON_CUH */
