// ct_gemm_run / ct_bmm_run on one of three engines (ct_gemm_engine_set / CORE_TENSORS_GEMM):
//   dnnl     oneDNN's sgemm, JIT-generated for the CPU it runs on (default when the build found it);
//   blas     CBLAS (OpenBLAS), whose kernel set comes from its CPU table (see blas_core.cjs);
//   portable the addon's own blocked kernel (gemm_portable.cc), always there.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "ct_internal.h"

#if CT_HAVE_BLAS
#include <cblas.h>
#endif
#if CT_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>

#include <csignal>
#endif

namespace {

#if CT_HAVE_BLAS
bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
#endif

enum Engine : int { kDnnl = 0, kBlas = 1, kPortable = 2 };
const char *const kEngineNames[] = {"dnnl", "blas", "portable"};

bool engine_compiled(int e) {
  if (e == kDnnl) return CT_HAVE_DNNL != 0;
  if (e == kBlas) return CT_HAVE_BLAS != 0;
  return e == kPortable;
}

int engine_by_name(const char *name) {
  for (int e = 0; e < 3; ++e)
    if (name && std::strcmp(name, kEngineNames[e]) == 0) return e;
  return -1;
}

// The best compiled engine, unless CORE_TENSORS_GEMM names another compiled one (the JS loader checks
// the variable and fails with its name first; here an unusable value just keeps the default).
int default_engine() {
  int e = CT_HAVE_DNNL ? kDnnl : CT_HAVE_BLAS ? kBlas : kPortable;
  const int env = engine_by_name(std::getenv("CORE_TENSORS_GEMM"));
  if (env >= 0 && engine_compiled(env)) e = env;
  return e;
}

std::atomic<int> &engine() {
  static std::atomic<int> e{default_engine()};
  return e;
}

#if CT_HAVE_DNNL
// oneDNN 2.6.3 (Debian 12) corrupts the heap when a signal lands on a thread while its multi-threaded
// sgemm runs (reproduced in plain C with an ITIMER_PROF handler; in Node, `--cpu-prof`'s SIGPROF, and
// SIGCHLD from child processes such as ffmpeg, would do it). So signals are held back meanwhile: for good
// on the OpenMP workers, which run only oneDNN and our kernels, and on the calling thread for the length
// of one call. A held-back signal is delivered when the call returns.
void block_all_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, old);
}

class SignalsHeld {
 public:
  SignalsHeld() { block_all_signals(&old_); }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld &) = delete;
  SignalsHeld &operator=(const SignalsHeld &) = delete;

 private:
  sigset_t old_;
};

// Blocks signals on the workers of this thread's OpenMP team of `threads` (each calling thread has its own
// team; libgomp keeps the same threads from one region to the next).
void quiet_team(int threads) {
  thread_local int quiet = 1;
  if (threads <= quiet) return;
#pragma omp parallel num_threads(threads)
  {
    if (omp_get_thread_num() != 0) block_all_signals(nullptr);
  }
  quiet = threads;
}
#endif

// C = beta * C for an empty product; beta = 0 must ignore NaN garbage in C (some libraries return early
// here without touching C).
void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : c[i * ldc + j] * beta;
}

ct_status check_gemm(const char *fn, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     const float *a, int64_t lda, const float *b, int64_t ldb, const float *c,
                     int64_t ldc) {
  if (m < 0 || n < 0 || k < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size (m=%lld, n=%lld, k=%lld)", fn,
                        (long long)m, (long long)n, (long long)k);
  const int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
  if (lda < std::max<int64_t>(1, a_cols) || ldb < std::max<int64_t>(1, b_cols) ||
      ldc < std::max<int64_t>(1, n))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "%s: leading dimension too small (lda=%lld needs >= %lld, ldb=%lld needs >= %lld, "
                        "ldc=%lld needs >= %lld)",
                        fn, (long long)lda, (long long)std::max<int64_t>(1, a_cols), (long long)ldb,
                        (long long)std::max<int64_t>(1, b_cols), (long long)ldc,
                        (long long)std::max<int64_t>(1, n));
  if ((m > 0 && n > 0 && !c) || (m > 0 && n > 0 && k > 0 && (!a || !b)))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null matrix pointer", fn);
  return CT_STATUS_OK;
}

#if CT_HAVE_DNNL
// How a GEMM with few rows uses the team (measured on 2 threads of a Zen 4 EPYC, y = x * w^T, oneDNN 2.6):
// oneDNN's own threading splits such a GEMM badly, e.g. 22x384x1024 631 us on 2 threads vs 406 on one.
//   kSlabs: each thread takes a slab of C's columns (22x384x1024 209 us, 72x512x128 53 vs 71, up to
//           m = 176: 90 vs 95; from m = 256 on, oneDNN's own split is as good or better);
//   kOne:   too few columns to split as well (22x128x512: one thread 49 us, slabs 63, oneDNN's 67).
enum class Split { kLibrary, kSlabs, kOne };
Split few_rows_split(int64_t m, int64_t n) {
  if (m > 192) return Split::kLibrary;
  if (n >= 256 || (m >= 64 && n >= 64)) return Split::kSlabs;
  return Split::kOne;
}
#endif

// One GEMM on the calling thread's choice of engine. threaded=false: must not start threads.
void gemm_dispatch(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   bool threaded) {
  const int e = engine().load(std::memory_order_relaxed);
  // Library engines only on a thread that may start threads; inside the pool (bmm's small matrices) the
  // portable kernel runs single-threaded.
  const bool library = threaded && !ct::in_parallel_region() && e != kPortable;
  if (library && (m == 0 || n == 0)) return;
  if (library && (k == 0 || alpha == 0.f)) return scale_c(m, n, beta, c, ldc);
#if CT_HAVE_DNNL
  if (library && e == kDnnl) {
    // oneDNN's OpenMP team follows the pool's size (omp_set_num_threads is per calling thread), under the
    // pool's own lease: a second thread calling meanwhile (a Node worker_thread, e.g. the closed-loop
    // evaluator's, or one running a parallel_for) runs single-threaded instead of starting a second team.
    const ct::PoolLease lease;
    thread_local int team = 0;
    const Split split = few_rows_split(m, n);
    const int want = lease.held() && split != Split::kOne ? ct::pool_threads() : 1;
    if (team != want) omp_set_num_threads(team = want);
    quiet_team(want);
    const SignalsHeld held;
    // beta = 0: C is write-only for oneDNN too (the NaN-garbage tests hold it to that).
    if (want > 1 && split == Split::kSlabs) {
      // Each thread of the team runs oneDNN single-threaded (it does not nest inside an OpenMP region) on
      // its own slab of C's columns: no element is shared, and each one's sum over k is oneDNN's own.
      const int64_t slab = ((n + want - 1) / want + 15) / 16 * 16;  // whole 16-column (AVX-512) blocks
      const int parts = (int)((n + slab - 1) / slab);
      std::atomic<int> status{dnnl_success};
#pragma omp parallel for num_threads(parts) schedule(static, 1)
      for (int p = 0; p < parts; ++p) {
        const int64_t n0 = p * slab, nn = std::min(slab, n - n0);
        const float *bp = tb ? b + n0 * ldb : b + n0;  // B is [n,k] (tb) or [k,n]: the slab's first column
        const dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, nn, k, alpha, a, lda, bp,
                                           ldb, beta, c + n0, ldc);
        if (s != dnnl_success) status.store(s);
      }
      if (status.load() != dnnl_success)
        throw std::runtime_error("oneDNN sgemm failed (status " + std::to_string(status.load()) + ")");
      return;
    }
    const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                        beta, c, ldc);
    if (st != dnnl_success) throw std::runtime_error("oneDNN sgemm failed (status " + std::to_string(st) + ")");
    return;
  }
#endif
#if CT_HAVE_BLAS
  if (library && e == kBlas && fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) &&
      fits_int(ldb) && fits_int(ldc)) {
    // beta = 0 with k > 0: BLAS defines C as write-only (OpenBLAS's beta kernel stores zeros, it does not
    // scale), so NaN in C is ignored without a clearing pass of our own (the tests check it).
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return;
  }
#endif
  ct::gemm_portable(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threaded);
}

}  // namespace

bool ct::gemm_uses_openmp() { return engine().load(std::memory_order_relaxed) == kDnnl; }

void ct::quiet_openmp_team(int threads) {
#if CT_HAVE_DNNL
  quiet_team(threads);
#else
  (void)threads;
#endif
}

extern "C" ct_status ct_gemm_engine_set(const char *name) {
  const int e = engine_by_name(name);
  if (e < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "ct_gemm_engine_set: unknown engine '%s' (dnnl | blas | portable)", name ? name : "");
  if (!engine_compiled(e))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_gemm_engine_set: engine '%s' is not in this build",
                        name);
  engine().store(e);
  return CT_STATUS_OK;
}

extern "C" const char *ct_gemm_engine_get(void) { return kEngineNames[engine().load()]; }

extern "C" int ct_gemm_engine_available(const char *name) {
  const int e = engine_by_name(name);
  return e >= 0 && engine_compiled(e) ? 1 : 0;
}

extern "C" ct_status ct_gemm_run(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                                 float *c, int64_t ldc) {
  ct_status st = check_gemm("ct_gemm_run", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  if (st != CT_STATUS_OK) return st;
  try {
    gemm_dispatch(trans_a != 0, trans_b != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_gemm_run: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_gemm_run: %s", e.what());
  }
  return CT_STATUS_OK;
}

/* Portable kernel with the ct_gemm_run contract (exported to JS as gemmPortable). */
extern "C" ct_status ct_gemm_portable_run(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                          float alpha, const float *a, int64_t lda, const float *b,
                                          int64_t ldb, float beta, float *c, int64_t ldc) {
  ct_status st = check_gemm("ct_gemm_portable_run", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  if (st != CT_STATUS_OK) return st;
  try {
    ct::gemm_portable(trans_a != 0, trans_b != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true);
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_gemm_portable_run: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_gemm_portable_run: %s", e.what());
  }
  return CT_STATUS_OK;
}

extern "C" ct_status ct_bmm_run(int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                                const float *a, const int32_t *a_index, const float *b,
                                const int32_t *b_index, float *c) {
  if (batch < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_bmm_run: negative batch %lld", (long long)batch);
  if (m < 0 || n < 0 || k < 0)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_bmm_run: negative size (m=%lld, n=%lld, k=%lld)",
                        (long long)m, (long long)n, (long long)k);
  if (batch == 0 || m == 0 || n == 0) return CT_STATUS_OK;
  const int64_t lda = std::max<int64_t>(1, trans_a ? m : k), ldb = std::max<int64_t>(1, trans_b ? k : n),
                ldc = std::max<int64_t>(1, n);
  ct_status st = check_gemm("ct_bmm_run", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  if (st != CT_STATUS_OK) return st;
  for (int64_t i = 0; i < batch; ++i) {
    if ((a_index && a_index[i] < 0) || (b_index && b_index[i] < 0))
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_bmm_run: negative index at batch %lld",
                          (long long)i);
  }
  const int64_t sa = m * k, sb = k * n, sc = m * n;
  auto one = [&](int64_t i, bool threaded) {
    const float *ai = a ? a + (a_index ? a_index[i] : i) * sa : a;
    const float *bi = b ? b + (b_index ? b_index[i] : i) * sb : b;
    gemm_dispatch(trans_a != 0, trans_b != 0, m, n, k, 1.f, ai, lda, bi, ldb, 0.f, c + i * sc, ldc,
                  threaded);
  };
  try {
    // Large matrices: one (multi-threaded) GEMM per matrix. Many small ones: spread the batch over the
    // pool, each matrix on one thread with the portable kernel (no BLAS threads inside pool threads).
    const double flops = 2.0 * (double)m * (double)n * (double)k;
    const int threads = ct::pool_threads();
    if (threads > 1 && batch > 1 && flops < 2.0 * 160 * 160 * 160) {
      const int64_t chunks = std::min<int64_t>(batch, 8 * threads);
      ct::parallel_for(chunks, [&](int64_t g) {
        for (int64_t i = g * batch / chunks; i < (g + 1) * batch / chunks; ++i) one(i, false);
      });
    } else {
      for (int64_t i = 0; i < batch; ++i) one(i, true);
    }
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "ct_bmm_run: out of memory");
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "ct_bmm_run: %s", e.what());
  }
  return CT_STATUS_OK;
}
