// Persistent std::thread worker pool behind ct::parallel_for, and ct_threads_set / ct_threads_get.
//
// Concurrency rules (Node may call the addon from several worker_threads at once):
//  * one parallel_for owns the pool at a time (use_mu, taken with try_lock); a second caller that finds
//    the pool busy runs its loop inline on its own thread instead of waiting, so there is no deadlock
//    and no oversubscription;
//  * a parallel_for issued from inside a pool job (nested) runs inline as well;
//  * ct_threads_set takes use_mu with a blocking lock, so it waits for a running loop to finish.
// The pool object is intentionally leaked: its threads sleep on a condition variable and die with the
// process, so nothing has to be joined during static destruction.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ct_internal.h"

#if CT_BLAS_OPENBLAS
extern "C" void openblas_set_num_threads(int num_threads);
#endif
#if CT_HAVE_DNNL
#include <omp.h>
#endif

namespace ct {
namespace {

thread_local bool tl_in_pool = false;

int default_threads() {
  if (const char *env = std::getenv("CORE_TENSORS_THREADS")) {
    char *end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && v > 0) return static_cast<int>(std::min<long>(v, 1024));
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

class Pool {
 public:
  Pool() { resize_locked(default_threads()); }

  int threads() const { return nthreads_.load(std::memory_order_relaxed); }

  // PoolLease: the use_mu_ that run() takes, held by a caller outside any parallel_for.
  bool try_lease() { return !tl_in_pool && use_mu_.try_lock(); }
  void end_lease() { use_mu_.unlock(); }

  void resize(int n) {
    std::lock_guard<std::mutex> use(use_mu_);
    resize_locked(n <= 0 ? default_threads() : std::min(n, 1024));
  }

  void run(int64_t n, const std::function<void(int64_t)> &fn) {
    if (n <= 0) return;
    if (n == 1 || tl_in_pool || threads() <= 1) return run_inline(n, fn);
    std::unique_lock<std::mutex> use(use_mu_, std::try_to_lock);
    if (!use.owns_lock()) return run_inline(n, fn);
#if CT_HAVE_DNNL
    // With oneDNN's GEMM the loops run on its OpenMP team too: one set of threads for every kernel (as in
    // PyTorch), so a team still spinning after a GEMM does not compete with a second pool for the cores.
    if (gemm_uses_openmp()) return run_omp(n, fn);
#endif
    if (workers_.empty()) return run_inline(n, fn);

    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      next_.store(0, std::memory_order_relaxed);
      failed_.store(false, std::memory_order_relaxed);
      err_ = nullptr;
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_work_.notify_all();

    tl_in_pool = true;
    work();
    tl_in_pool = false;

    std::unique_lock<std::mutex> lk(mu_);
    cv_done_.wait(lk, [&] { return active_ == 0; });
    fn_ = nullptr;
    std::exception_ptr err = err_;
    err_ = nullptr;
    lk.unlock();
    use.unlock();
    if (err) std::rethrow_exception(err);
  }

 private:
  static void run_inline(int64_t n, const std::function<void(int64_t)> &fn) {
    bool was = tl_in_pool;
    tl_in_pool = true;
    try {
      for (int64_t i = 0; i < n; ++i) fn(i);
    } catch (...) {
      tl_in_pool = was;
      throw;
    }
    tl_in_pool = was;
  }

#if CT_HAVE_DNNL
  void run_omp(int64_t n, const std::function<void(int64_t)> &fn) {
    std::exception_ptr err;
    std::mutex err_mu;
    std::atomic<bool> failed{false};
    quiet_openmp_team(threads());
#pragma omp parallel num_threads(threads())
    {
      const bool was = tl_in_pool;
      tl_in_pool = true;
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < n; ++i) {
        if (failed.load(std::memory_order_relaxed)) continue;
        try {
          fn(i);
        } catch (...) {
          std::lock_guard<std::mutex> lk(err_mu);
          if (!err) err = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
      tl_in_pool = was;
    }
    if (err) std::rethrow_exception(err);
  }
#endif

  // Pulls indices until the loop is exhausted; records the first exception.
  void work() {
    for (;;) {
      if (failed_.load(std::memory_order_relaxed)) break;
      int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_) break;
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!err_) err_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);
      }
    }
  }

  // start_gen: generation_ when the thread was created (no loop can run while resize_locked holds
  // use_mu_), so a loop started before this thread first takes mu_ is still seen.
  void worker_main(uint64_t start_gen) {
    tl_in_pool = true;
    uint64_t seen = start_gen;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_work_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (--active_ == 0) cv_done_.notify_one();
      }
    }
  }

  // Caller holds use_mu_ (or is the constructor).
  void resize_locked(int n) {
    if (!workers_.empty()) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
      }
      cv_work_.notify_all();
      for (auto &t : workers_) t.join();
      workers_.clear();
      stop_ = false;
    }
    int started = 1;
    const uint64_t gen = generation_;
    for (int i = 1; i < n; ++i) {
      try {
        workers_.emplace_back([this, gen] { worker_main(gen); });
        ++started;
      } catch (...) {
        break;  // could not start more threads: run with what we have
      }
    }
    nthreads_.store(started, std::memory_order_relaxed);
#if CT_BLAS_OPENBLAS
    openblas_set_num_threads(started);
#endif
  }

  std::mutex use_mu_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::vector<std::thread> workers_;
  std::atomic<int> nthreads_{1};
  uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(int64_t)> *fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr err_;
  int active_ = 0;
};

Pool &pool() {
  static Pool *p = new Pool();  // leaked on purpose, see the file comment
  return *p;
}

}  // namespace

void parallel_for(int64_t n, const std::function<void(int64_t)> &fn) { pool().run(n, fn); }

int pool_threads() { return pool().threads(); }

bool in_parallel_region() { return tl_in_pool; }

PoolLease::PoolLease() : held_(pool().try_lease()) {}

PoolLease::~PoolLease() {
  if (held_) pool().end_lease();
}

}  // namespace ct

extern "C" void ct_threads_set(int n) {
  if (ct::in_parallel_region()) return;  // cannot resize the pool from inside one of its jobs
  ct::pool().resize(n);
}

extern "C" int ct_threads_get(void) { return ct::pool_threads(); }
