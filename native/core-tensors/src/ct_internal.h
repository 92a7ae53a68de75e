/* Internal helpers shared by the CPU (.cc) and CUDA (.cu) sources. Not part of the public API. */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include "core_tensors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a printf-style message as this thread's last error (see ct_error_last) and returns status. */
ct_status ct_error_set(ct_status status, const char *fmt, ...);

/* The portable blocked GEMM with the ct_gemm_run contract, reachable in BLAS builds too (src/gemm.cc);
 * exported to JS as gemmPortable. */
ct_status ct_gemm_portable_run(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                               const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                               float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif

/* ---- C++-only internals (CPU sources) ----------------------------------------------------------- */
#if defined(__cplusplus) && !defined(__CUDACC__)
#include <cstdint>
#include <functional>

namespace ct {

/* Persistent worker pool (src/threads.cc).
 *
 * parallel_for(n, fn) calls fn(i) for every i in [0, n) using the pool workers plus the calling thread
 * (dynamic scheduling, one index at a time: callers make each index a sizeable chunk of work).
 * It runs everything inline on the calling thread when n <= 1, when the pool has one thread, when the
 * caller is itself a pool worker (nested parallel_for), or when another thread (e.g. a second Node
 * worker_thread) is currently using the pool. It therefore never deadlocks. The first exception thrown
 * by fn is rethrown on the calling thread after all work has stopped. */
void parallel_for(int64_t n, const std::function<void(int64_t)> &fn);

/* Current thread count (pool workers + caller). */
int pool_threads();

/* True when the calling thread is a pool worker or is currently running a parallel_for. */
bool in_parallel_region();

/* The pool's threads (with oneDNN: its OpenMP team) for one caller at a time, the rule parallel_for
 * follows: held() is false when another thread has them or the caller is inside a parallel_for, and that
 * caller then runs single-threaded. ct_threads_set waits for a held lease. */
class PoolLease {
 public:
  PoolLease();
  ~PoolLease();
  PoolLease(const PoolLease &) = delete;
  PoolLease &operator=(const PoolLease &) = delete;
  bool held() const { return held_; }

 private:
  bool held_;
};

/* True when GEMM runs on oneDNN (src/gemm.cc): parallel_for then uses the same OpenMP team. */
bool gemm_uses_openmp();

/* Blocks signals on the workers of the calling thread's OpenMP team of `threads` (src/gemm.cc: oneDNN is
 * not safe against signals, and parallel_for shares its team). No-op without oneDNN. */
void quiet_openmp_team(int threads);

/* Portable blocked GEMM (src/gemm_portable.cc). Same contract as ct_gemm_run, arguments assumed valid.
 * threaded=false keeps it on the calling thread (used when the caller already parallelises). */
void gemm_portable(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                   int64_t ldc, bool threaded);

/* Small dense tile product used by the attention kernels (src/gemm_portable.cc):
 *   C[M, N] (=|+=) alpha * op(A)[M, K] * B[K, N]
 * op(A)(i, p) = trans_a ? A[p * lda + i] : A[i * lda + p]. B row-major with ldb. N must be a multiple
 * of 16 when compiled for AVX2 (callers pad their tiles); any N is accepted by the scalar path.
 * Single-threaded, no packing: meant for operands that already sit in L1/L2. */
void tile_gemm(int M, int N, int K, const float *A, int lda, bool trans_a, const float *B, int ldb,
               float *C, int ldc, float alpha, bool accumulate);

/* Column granularity tile_gemm needs (16 with AVX2, 1 otherwise). */
int tile_gemm_n_align();

/* Instruction set the portable kernels were compiled for. */
const char *simd_name();

}  // namespace ct
#endif

#endif /* CT_INTERNAL_H */
