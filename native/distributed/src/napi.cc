// N-API glue of the distributed addon: every collective runs on a libuv worker thread and returns a
// Promise, so the JS event loop stays free (rank 0 serves the TCP store from it, heartbeats keep going).
// A callback store forwards gloo's blocking Store calls from the rendezvous thread to a JS handler
// through a thread-safe function.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "ct_distributed.h"

namespace {

constexpr size_t kErrLen = 2048;

const char* codeName(int code) {
  switch (code) {
    case CT_DIST_INVALID: return "CT_DIST_INVALID";
    case CT_DIST_IO: return "CT_DIST_IO";
    case CT_DIST_TIMEOUT: return "CT_DIST_TIMEOUT";
    case CT_DIST_NOT_COMPILED: return "CT_DIST_NOT_COMPILED";
    case CT_DIST_UNAVAILABLE: return "CT_DIST_UNAVAILABLE";
    default: return "CT_DIST_INTERNAL";
  }
}

Napi::Error makeError(Napi::Env env, int code, const char* msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, codeName(code)));
  return e;
}

// ---- handles ---------------------------------------------------------------------------------------------
struct PgHandle {
  ct_pg* pg = nullptr;
};
struct NcclHandle {
  ct_nccl* comm = nullptr;
};

template <typename H>
H* unwrap(const Napi::Value& v, const char* fn) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": argument 0 must be a handle");
  H* h = v.As<Napi::External<H>>().Data();
  if (!h) throw Napi::Error::New(v.Env(), std::string(fn) + ": the handle was destroyed");
  return h;
}

// ---- a Promise-returning worker around one blocking C call -----------------------------------------------
class OpWorker : public Napi::AsyncWorker {
 public:
  using Fn = std::function<int(char*, size_t)>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  OpWorker(Napi::Env env, Fn fn, Done done, std::vector<Napi::Value> keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fn_(std::move(fn)),
        done_(std::move(done)) {
    for (auto& v : keep) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { code_ = fn_(err_, sizeof err_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (code_ != CT_DIST_OK) {
      deferred_.Reject(makeError(env, code_, err_).Value());
      return;
    }
    deferred_.Resolve(done_ ? done_(env) : env.Undefined());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Fn fn_;
  Done done_;
  std::vector<Napi::ObjectReference> keep_;
  int code_ = CT_DIST_OK;
  char err_[kErrLen] = {0};
};

Napi::Value queue(Napi::Env env, OpWorker::Fn fn, OpWorker::Done done, std::vector<Napi::Value> keep) {
  auto* w = new OpWorker(env, std::move(fn), std::move(done), std::move(keep));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// ---- JS store bridge --------------------------------------------------------------------------------------
struct StoreRequest {
  std::string op;
  std::string key;
  std::vector<char> value;
  std::vector<std::string> keys;
  int64_t timeoutMs = 0;
  std::promise<std::pair<std::string, std::vector<char>>> reply;  // (error, value)
  std::atomic<bool> answered{false};
};

struct Bridge {
  Napi::ThreadSafeFunction tsfn;
};

void answer(const std::shared_ptr<StoreRequest>& req, std::string err, std::vector<char> value) {
  bool expected = false;
  if (req->answered.compare_exchange_strong(expected, true)) req->reply.set_value({std::move(err), std::move(value)});
}

void callJs(Napi::Env env, Napi::Function handler, std::shared_ptr<StoreRequest>* data) {
  std::shared_ptr<StoreRequest> req = *data;
  delete data;
  if (env == nullptr) {
    answer(req, "the JS store handler is gone", {});
    return;
  }
  try {
    Napi::Array keys = Napi::Array::New(env, req->keys.size());
    for (size_t i = 0; i < req->keys.size(); i++) keys.Set(i, Napi::String::New(env, req->keys[i]));
    Napi::Value value = req->op == "set" ? Napi::Buffer<char>::Copy(env, req->value.data(), req->value.size()).As<Napi::Value>()
                                         : env.Null();
    Napi::Function done = Napi::Function::New(env, [req](const Napi::CallbackInfo& info) {
      if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) {
        answer(req, info[0].ToString().Utf8Value(), {});
        return;
      }
      std::vector<char> out;
      if (info.Length() > 1 && info[1].IsTypedArray()) {
        auto arr = info[1].As<Napi::TypedArray>();
        const char* p = static_cast<const char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
        out.assign(p, p + arr.ByteLength());
      }
      answer(req, "", std::move(out));
    });
    handler.Call({Napi::String::New(env, req->op), Napi::String::New(env, req->key), value, keys,
                  Napi::Number::New(env, static_cast<double>(req->timeoutMs)), done});
  } catch (const Napi::Error& e) {
    answer(req, e.Message(), {});
  }
}

int roundTrip(void* user, const std::shared_ptr<StoreRequest>& req, std::vector<char>* out, char* err, size_t errlen) {
  auto* bridge = static_cast<Bridge*>(user);
  auto fut = req->reply.get_future();
  auto* heap = new std::shared_ptr<StoreRequest>(req);
  if (bridge->tsfn.BlockingCall(heap, callJs) != napi_ok) {
    delete heap;
    std::snprintf(err, errlen, "store %s: the JS handler could not be called", req->op.c_str());
    return CT_DIST_INTERNAL;
  }
  // The handler enforces the timeout itself; this is only a guard against a handler that never answers.
  const auto guard = std::chrono::milliseconds(req->timeoutMs + 10000);
  if (fut.wait_for(guard) != std::future_status::ready) {
    std::snprintf(err, errlen, "store %s '%s': no answer from the JS handler within %lld ms", req->op.c_str(),
                  req->key.c_str(), static_cast<long long>(guard.count()));
    return CT_DIST_TIMEOUT;
  }
  auto r = fut.get();
  if (!r.first.empty()) {
    std::snprintf(err, errlen, "%s", r.first.c_str());
    return r.first.find("timed out") != std::string::npos ? CT_DIST_TIMEOUT : CT_DIST_IO;
  }
  if (out) *out = std::move(r.second);
  return CT_DIST_OK;
}

int bridgeSet(void* user, const char* key, const void* data, size_t len, char* err, size_t errlen) {
  auto req = std::make_shared<StoreRequest>();
  req->op = "set";
  req->key = key;
  req->value.assign(static_cast<const char*>(data), static_cast<const char*>(data) + len);
  req->timeoutMs = 30000;
  return roundTrip(user, req, nullptr, err, errlen);
}

int bridgeGet(void* user, const char* key, int64_t timeout_ms, void** data, size_t* len, char* err, size_t errlen) {
  auto req = std::make_shared<StoreRequest>();
  req->op = "get";
  req->key = key;
  req->timeoutMs = timeout_ms;
  std::vector<char> out;
  int code = roundTrip(user, req, &out, err, errlen);
  if (code != CT_DIST_OK) return code;
  *len = out.size();
  *data = std::malloc(out.size() ? out.size() : 1);
  if (!*data) return CT_DIST_INTERNAL;
  if (!out.empty()) std::memcpy(*data, out.data(), out.size());
  return CT_DIST_OK;
}

int bridgeWait(void* user, const char* const* keys, size_t nkeys, int64_t timeout_ms, char* err, size_t errlen) {
  auto req = std::make_shared<StoreRequest>();
  req->op = "wait";
  for (size_t i = 0; i < nkeys; i++) req->keys.emplace_back(keys[i]);
  req->timeoutMs = timeout_ms;
  return roundTrip(user, req, nullptr, err, errlen);
}

// ---- exported functions -----------------------------------------------------------------------------------
int64_t timeoutArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": timeoutMs must be a number");
  const double t = info[i].As<Napi::Number>().DoubleValue();
  if (!(t > 0)) throw Napi::RangeError::New(info.Env(), std::string(fn) + ": timeoutMs must be > 0");
  return static_cast<int64_t>(t);
}

uint32_t uintArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

Napi::Value Features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("apiVersion", CT_DIST_API_VERSION);
  o.Set("gloo", ct_dist_gloo_compiled() != 0);
  o.Set("glooVersion", ct_dist_gloo_version());
  return o;
}

void finalizePg(Napi::Env, PgHandle* h) {
  if (h->pg) ct_pg_destroy(h->pg);
  delete h;
}

// connect({ rank, size, hostname, iface, timeoutMs, prefix, store: 'callback' | 'redis', host, port, handler })
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "connect: argument must be an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto num = [&](const char* k) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("connect: ") + k + " must be a number");
    return v.As<Napi::Number>().Int64Value();
  };
  auto str = [&](const char* k) {
    Napi::Value v = o.Get(k);
    return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  };
  const int rank = static_cast<int>(num("rank"));
  const int size = static_cast<int>(num("size"));
  const int64_t timeout = num("timeoutMs");
  const std::string kind = str("store");
  auto hostname = std::make_shared<std::string>(str("hostname"));
  auto iface = std::make_shared<std::string>(str("iface"));
  auto prefix = std::make_shared<std::string>(str("prefix"));
  auto host = std::make_shared<std::string>(str("host"));
  const int port = kind == "redis" ? static_cast<int>(num("port")) : 0;
  auto bridge = std::make_shared<Bridge>();
  ct_store_spec spec{};
  if (kind == "callback") {
    Napi::Value h = o.Get("handler");
    if (!h.IsFunction()) throw Napi::TypeError::New(env, "connect: store 'callback' needs a handler function");
    bridge->tsfn = Napi::ThreadSafeFunction::New(env, h.As<Napi::Function>(), "ct-store", 0, 1);
    spec.kind = CT_STORE_CALLBACK;
    spec.callbacks = ct_store_callbacks{bridge.get(), bridgeSet, bridgeGet, bridgeWait};
  } else if (kind == "redis") {
    spec.kind = CT_STORE_REDIS;
  } else {
    throw Napi::TypeError::New(env, "connect: store must be 'callback' or 'redis', got '" + kind + "'");
  }
  auto handle = std::make_shared<ct_pg*>(nullptr);
  auto fn = [=](char* err, size_t errlen) mutable {
    ct_store_spec s = spec;
    s.host = host->c_str();
    s.port = port;
    s.prefix = prefix->c_str();
    ct_transport_spec t{hostname->c_str(), iface->c_str()};
    int code = ct_pg_connect(handle.get(), rank, size, &s, &t, timeout, err, errlen);
    if (kind == "callback") bridge->tsfn.Release();
    return code;
  };
  auto done = [handle](Napi::Env e) -> Napi::Value {
    auto* h = new PgHandle{*handle};
    return Napi::External<PgHandle>::New(e, h, finalizePg);
  };
  return queue(env, fn, done, {});
}

Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PgHandle* h = unwrap<PgHandle>(info[0], "allReduce");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "allReduce: data must be a Float32Array");
  auto arr = info[1].As<Napi::Float32Array>();
  const std::string op = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (op != "sum" && op != "mean") throw Napi::TypeError::New(env, "allReduce: op must be 'sum' or 'mean'");
  const uint32_t tag = uintArg(info, 3, "allReduce", "tag");
  const int64_t timeout = timeoutArg(info, 4, "allReduce");
  float* data = arr.Data();
  const size_t n = arr.ElementLength();
  ct_pg* pg = h->pg;
  const int cop = op == "sum" ? CT_REDUCE_SUM : CT_REDUCE_MEAN;
  return queue(
      env, [=](char* err, size_t errlen) { return ct_pg_allreduce(pg, data, n, cop, tag, timeout, err, errlen); },
      nullptr, {info[0], info[1]});
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PgHandle* h = unwrap<PgHandle>(info[0], "broadcast");
  if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "broadcast: data must be a typed array");
  auto arr = info[1].As<Napi::TypedArray>();
  const uint32_t root = uintArg(info, 2, "broadcast", "root");
  const uint32_t tag = uintArg(info, 3, "broadcast", "tag");
  const int64_t timeout = timeoutArg(info, 4, "broadcast");
  void* data = static_cast<char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  const size_t bytes = arr.ByteLength();
  ct_pg* pg = h->pg;
  return queue(
      env,
      [=](char* err, size_t errlen) {
        return ct_pg_broadcast(pg, data, bytes, static_cast<int>(root), tag, timeout, err, errlen);
      },
      nullptr, {info[0], info[1]});
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PgHandle* h = unwrap<PgHandle>(info[0], "barrier");
  const uint32_t tag = uintArg(info, 1, "barrier", "tag");
  const int64_t timeout = timeoutArg(info, 2, "barrier");
  ct_pg* pg = h->pg;
  return queue(
      env, [=](char* err, size_t errlen) { return ct_pg_barrier(pg, tag, timeout, err, errlen); }, nullptr,
      {info[0]});
}

// destroy(handle): closes the mesh. The caller must not destroy while a collective is in flight.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  PgHandle* h = unwrap<PgHandle>(info[0], "destroy");
  if (h->pg) ct_pg_destroy(h->pg);
  h->pg = nullptr;
  return info.Env().Undefined();
}

// ---- NCCL (run-time loaded; untested here: no GPU with NCCL on the build machine) ------------------------
Napi::Value NcclLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char err[kErrLen];
  Napi::Object o = Napi::Object::New(env);
  int code = ct_nccl_load(err, sizeof err);
  o.Set("available", code == CT_DIST_OK);
  if (code != CT_DIST_OK) {
    o.Set("error", err);
    return o;
  }
  int version = 0;
  if (ct_nccl_version(&version, err, sizeof err) == CT_DIST_OK) o.Set("version", version);
  return o;
}

Napi::Value NcclUniqueId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char err[kErrLen];
  auto buf = Napi::Buffer<unsigned char>::New(env, CT_NCCL_UNIQUE_ID_BYTES);
  int code = ct_nccl_unique_id(buf.Data(), err, sizeof err);
  if (code != CT_DIST_OK) throw makeError(env, code, err);
  return buf;
}

void finalizeNccl(Napi::Env, NcclHandle* h) {
  if (h->comm) ct_nccl_destroy(h->comm);
  delete h;
}

Napi::Value NcclInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int rank = static_cast<int>(uintArg(info, 0, "ncclInit", "rank"));
  const int size = static_cast<int>(uintArg(info, 1, "ncclInit", "size"));
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().ByteLength() != CT_NCCL_UNIQUE_ID_BYTES)
    throw Napi::TypeError::New(env, "ncclInit: id must be the 128-byte unique id of rank 0");
  auto idArr = info[2].As<Napi::TypedArray>();
  auto id = std::make_shared<std::vector<unsigned char>>(
      static_cast<unsigned char*>(idArr.ArrayBuffer().Data()) + idArr.ByteOffset(),
      static_cast<unsigned char*>(idArr.ArrayBuffer().Data()) + idArr.ByteOffset() + CT_NCCL_UNIQUE_ID_BYTES);
  const int device = static_cast<int>(uintArg(info, 3, "ncclInit", "device"));
  auto out = std::make_shared<ct_nccl*>(nullptr);
  return queue(
      env,
      [=](char* err, size_t errlen) { return ct_nccl_comm_init(out.get(), rank, size, id->data(), device, err, errlen); },
      [out](Napi::Env e) -> Napi::Value { return Napi::External<NcclHandle>::New(e, new NcclHandle{*out}, finalizeNccl); },
      {});
}

Napi::Value NcclAllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NcclHandle* h = unwrap<NcclHandle>(info[0], "ncclAllReduce");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "ncclAllReduce: data must be a Float32Array");
  auto arr = info[1].As<Napi::Float32Array>();
  const std::string op = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (op != "sum" && op != "mean") throw Napi::TypeError::New(env, "ncclAllReduce: op must be 'sum' or 'mean'");
  float* data = arr.Data();
  const size_t n = arr.ElementLength();
  ct_nccl* comm = h->comm;
  const int cop = op == "sum" ? CT_REDUCE_SUM : CT_REDUCE_MEAN;
  return queue(
      env, [=](char* err, size_t errlen) { return ct_nccl_allreduce(comm, data, n, cop, err, errlen); }, nullptr,
      {info[0], info[1]});
}

Napi::Value NcclBroadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NcclHandle* h = unwrap<NcclHandle>(info[0], "ncclBroadcast");
  if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "ncclBroadcast: data must be a typed array");
  auto arr = info[1].As<Napi::TypedArray>();
  const int root = static_cast<int>(uintArg(info, 2, "ncclBroadcast", "root"));
  void* data = static_cast<char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  const size_t bytes = arr.ByteLength();
  ct_nccl* comm = h->comm;
  return queue(
      env, [=](char* err, size_t errlen) { return ct_nccl_broadcast(comm, data, bytes, root, err, errlen); }, nullptr,
      {info[0], info[1]});
}

Napi::Value NcclDestroy(const Napi::CallbackInfo& info) {
  NcclHandle* h = unwrap<NcclHandle>(info[0], "ncclDestroy");
  if (h->comm) ct_nccl_destroy(h->comm);
  h->comm = nullptr;
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("features", Napi::Function::New(env, Features));
  exports.Set("connect", Napi::Function::New(env, Connect));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("destroy", Napi::Function::New(env, Destroy));
  exports.Set("ncclLoad", Napi::Function::New(env, NcclLoad));
  exports.Set("ncclUniqueId", Napi::Function::New(env, NcclUniqueId));
  exports.Set("ncclInit", Napi::Function::New(env, NcclInit));
  exports.Set("ncclAllReduce", Napi::Function::New(env, NcclAllReduce));
  exports.Set("ncclBroadcast", Napi::Function::New(env, NcclBroadcast));
  exports.Set("ncclDestroy", Napi::Function::New(env, NcclDestroy));
  return exports;
}

}  // namespace

NODE_API_MODULE(ct_distributed, Init)
