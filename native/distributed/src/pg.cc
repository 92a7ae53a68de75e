// ct_pg_* over gloo: a full mesh over the TCP transport, rendezvous through a Store (the caller's
// callbacks, gloo's FileStore or gloo's RedisStore), ring all-reduce, one-to-all broadcast, barrier.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>
#if GLOO_USE_REDIS
#define HIREDIS_NESTED_INCLUDE 1  // Debian installs hiredis.h under hiredis/
#include <gloo/rendezvous/redis_store.h>
#endif

#include "ct_distributed.h"
#include "status.h"

namespace {

constexpr size_t kErrLen = 1024;

// gloo's Store interface forwarded to C callbacks (which may block until a key appears).
class CallbackStore : public gloo::rendezvous::Store {
 public:
  CallbackStore(ct_store_callbacks cb, std::chrono::milliseconds timeout) : cb_(cb), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    char err[kErrLen];
    if (cb_.set(cb_.user, key.c_str(), data.data(), data.size(), err, sizeof err) != CT_DIST_OK)
      throw std::runtime_error(std::string("store set '") + key + "': " + err);
  }

  std::vector<char> get(const std::string& key) override {
    char err[kErrLen];
    void* buf = nullptr;
    size_t len = 0;
    if (cb_.get(cb_.user, key.c_str(), timeout_.count(), &buf, &len, err, sizeof err) != CT_DIST_OK)
      throw std::runtime_error(std::string("store get '") + key + "': " + err);
    std::vector<char> out(static_cast<char*>(buf), static_cast<char*>(buf) + len);
    std::free(buf);
    return out;
  }

  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }

  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    std::vector<const char*> ptrs;
    for (const auto& k : keys) ptrs.push_back(k.c_str());
    char err[kErrLen];
    if (cb_.wait(cb_.user, ptrs.data(), ptrs.size(), timeout.count(), err, sizeof err) != CT_DIST_OK)
      throw std::runtime_error(std::string("store wait: ") + err);
  }

 private:
  ct_store_callbacks cb_;
  std::chrono::milliseconds timeout_;
};

int classify(const std::exception& e) {
  const std::string what = e.what();
  if (what.find("Timed out") != std::string::npos || what.find("timed out") != std::string::npos ||
      what.find("timeout") != std::string::npos)
    return CT_DIST_TIMEOUT;
  if (dynamic_cast<const gloo::IoException*>(&e)) return CT_DIST_IO;
  return CT_DIST_INTERNAL;
}

template <typename F>
int guarded(char* err, size_t errlen, F&& fn) {
  try {
    fn();
    return ct_dist_ok(err, errlen);
  } catch (const std::exception& e) {
    return ct_dist_fail(err, errlen, classify(e), e.what());
  } catch (...) {
    return ct_dist_fail(err, errlen, CT_DIST_INTERNAL, "unknown C++ exception");
  }
}

void sum_f32(void* c, const void* a, const void* b, size_t n) { gloo::sum<float>(c, a, b, n); }

}  // namespace

struct ct_pg {
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::shared_ptr<gloo::transport::Device> device;
};

extern "C" {

int ct_dist_gloo_compiled(void) { return GLOO_HAVE_TRANSPORT_TCP; }
int ct_dist_gloo_version(void) { return GLOO_VERSION; }

int ct_pg_connect(ct_pg** out, int rank, int size, const ct_store_spec* spec,
                  const ct_transport_spec* transport, int64_t timeout_ms, char* err, size_t errlen) {
  if (!out || !spec) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_connect: null argument");
  *out = nullptr;
  if (size < 1 || rank < 0 || rank >= size)
    return ct_dist_fail(err, errlen, CT_DIST_INVALID,
                        "ct_pg_connect: rank " + std::to_string(rank) + " is outside [0, " +
                            std::to_string(size) + ")");
  if (timeout_ms <= 0) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_connect: timeout_ms must be > 0");
  const std::chrono::milliseconds timeout(timeout_ms);
  return guarded(err, errlen, [&] {
    std::unique_ptr<gloo::rendezvous::Store> base;
    switch (spec->kind) {
      case CT_STORE_CALLBACK:
        if (!spec->callbacks.set || !spec->callbacks.get || !spec->callbacks.wait)
          throw std::invalid_argument("ct_pg_connect: callback store without set/get/wait");
        base = std::make_unique<CallbackStore>(spec->callbacks, timeout);
        break;
      case CT_STORE_FILE:
        if (!spec->path || !*spec->path) throw std::invalid_argument("ct_pg_connect: file store without a path");
        base = std::make_unique<gloo::rendezvous::FileStore>(spec->path);
        break;
      case CT_STORE_REDIS:
#if GLOO_USE_REDIS
        if (!spec->host || !*spec->host) throw std::invalid_argument("ct_pg_connect: redis store without a host");
        base = std::make_unique<gloo::rendezvous::RedisStore>(spec->host, spec->port);
        break;
#else
        throw std::invalid_argument("ct_pg_connect: this gloo was built without Redis");
#endif
      default:
        throw std::invalid_argument("ct_pg_connect: unknown store kind " + std::to_string(spec->kind));
    }
    gloo::transport::tcp::attr attr;
    if (transport && transport->iface && *transport->iface) {
      attr.iface = transport->iface;
    } else {
      attr.hostname = transport && transport->hostname && *transport->hostname ? transport->hostname : "127.0.0.1";
    }
    auto pg = std::make_unique<ct_pg>();
    pg->device = gloo::transport::tcp::CreateDevice(attr);
    pg->context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    pg->context->setTimeout(timeout);
    if (spec->prefix && *spec->prefix) {
      gloo::rendezvous::PrefixStore prefixed(spec->prefix, *base);
      pg->context->connectFullMesh(prefixed, pg->device);
    } else {
      pg->context->connectFullMesh(*base, pg->device);
    }
    *out = pg.release();
  });
}

int ct_pg_rank(const ct_pg* pg) { return pg ? pg->context->rank : -1; }
int ct_pg_size(const ct_pg* pg) { return pg ? pg->context->size : 0; }

int ct_pg_allreduce(ct_pg* pg, float* data, size_t n, int op, uint32_t tag, int64_t timeout_ms, char* err,
                    size_t errlen) {
  if (!pg || (!data && n > 0)) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_allreduce: null argument");
  if (op != CT_REDUCE_SUM && op != CT_REDUCE_MEAN)
    return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_allreduce: unknown op " + std::to_string(op));
  if (timeout_ms <= 0) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_allreduce: timeout_ms must be > 0");
  if (n == 0 || pg->context->size == 1) return ct_dist_ok(err, errlen);
  return guarded(err, errlen, [&] {
    gloo::AllreduceOptions opts(pg->context);
    opts.setOutput(data, n);
    opts.setReduceFunction(&sum_f32);
    opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
    opts.setTag(tag);
    opts.setTimeout(std::chrono::milliseconds(timeout_ms));
    gloo::allreduce(opts);
    if (op == CT_REDUCE_MEAN) {
      const float inv = 1.0f / static_cast<float>(pg->context->size);
      for (size_t i = 0; i < n; i++) data[i] *= inv;
    }
  });
}

int ct_pg_broadcast(ct_pg* pg, void* data, size_t bytes, int root, uint32_t tag, int64_t timeout_ms,
                    char* err, size_t errlen) {
  if (!pg || (!data && bytes > 0)) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_broadcast: null argument");
  if (root < 0 || root >= pg->context->size)
    return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_broadcast: root " + std::to_string(root) + " out of range");
  if (timeout_ms <= 0) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_broadcast: timeout_ms must be > 0");
  if (bytes == 0 || pg->context->size == 1) return ct_dist_ok(err, errlen);
  return guarded(err, errlen, [&] {
    gloo::BroadcastOptions opts(pg->context);
    opts.setOutput(static_cast<uint8_t*>(data), bytes);
    opts.setRoot(root);
    opts.setTag(tag);
    opts.setTimeout(std::chrono::milliseconds(timeout_ms));
    gloo::broadcast(opts);
  });
}

int ct_pg_barrier(ct_pg* pg, uint32_t tag, int64_t timeout_ms, char* err, size_t errlen) {
  if (!pg) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_barrier: null argument");
  if (timeout_ms <= 0) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_pg_barrier: timeout_ms must be > 0");
  if (pg->context->size == 1) return ct_dist_ok(err, errlen);
  return guarded(err, errlen, [&] {
    gloo::BarrierOptions opts(pg->context);
    opts.setTag(tag);
    opts.setTimeout(std::chrono::milliseconds(timeout_ms));
    gloo::barrier(opts);
  });
}

void ct_pg_destroy(ct_pg* pg) { delete pg; }

}  // extern "C"
