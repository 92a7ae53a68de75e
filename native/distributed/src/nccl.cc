// ct_nccl_*: NCCL loaded at run time (dlopen libnccl.so.2 and the CUDA runtime), so the addon builds and
// runs where neither is installed. Only the handful of entry points used here are declared, with the
// types and enum values of NCCL 2.x's public nccl.h (ncclFloat32 = 7, ncclSum = 0, ncclAvg = 4).
// Host buffers are staged through one device buffer per communicator.
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "ct_distributed.h"
#include "status.h"

namespace {

typedef int ncclResult_t;
typedef struct ncclComm* ncclComm_t;
typedef struct {
  char internal[CT_NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;
typedef void* cudaStream_t;
constexpr int kNcclFloat32 = 7;
constexpr int kNcclUint8 = 1;
constexpr int kNcclSum = 0;
constexpr int kNcclAvg = 4;
constexpr int kCudaMemcpyHostToDevice = 1;
constexpr int kCudaMemcpyDeviceToHost = 2;

struct Api {
  void* nccl = nullptr;
  void* cudart = nullptr;
  ncclResult_t (*getVersion)(int*);
  ncclResult_t (*getUniqueId)(ncclUniqueId*);
  ncclResult_t (*commInitRank)(ncclComm_t*, int, ncclUniqueId, int);
  ncclResult_t (*allReduce)(const void*, void*, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*broadcast)(const void*, void*, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*commDestroy)(ncclComm_t);
  const char* (*getErrorString)(ncclResult_t);
  int (*cudaSetDevice)(int);
  int (*cudaMalloc)(void**, size_t);
  int (*cudaFree)(void*);
  int (*cudaMemcpy)(void*, const void*, size_t, int);
  int (*cudaStreamCreate)(cudaStream_t*);
  int (*cudaStreamDestroy)(cudaStream_t);
  int (*cudaStreamSynchronize)(cudaStream_t);
  const char* (*cudaGetErrorString)(int);
};

Api api;
std::once_flag once;
std::string loadError;

void* openFirst(const char* const* names, std::string& tried) {
  for (const char* const* n = names; *n; n++) {
    if (void* h = dlopen(*n, RTLD_NOW | RTLD_LOCAL)) return h;
    tried += std::string(" ") + dlerror() + ";";
  }
  return nullptr;
}

template <typename T>
bool sym(void* lib, const char* name, T& fn) {
  fn = reinterpret_cast<T>(dlsym(lib, name));
  if (!fn) loadError = std::string("dlsym ") + name + " failed";
  return fn != nullptr;
}

void loadOnce() {
  static const char* const ncclNames[] = {"libnccl.so.2", "libnccl.so", nullptr};
  static const char* const cudaNames[] = {"libcudart.so.12", "libcudart.so.11.0", "libcudart.so", nullptr};
  std::string tried;
  api.nccl = openFirst(ncclNames, tried);
  if (!api.nccl) {
    loadError = "NCCL is not installed (dlopen:" + tried + ")";
    return;
  }
  api.cudart = openFirst(cudaNames, tried);
  if (!api.cudart) {
    loadError = "the CUDA runtime is not installed (dlopen:" + tried + ")";
    return;
  }
  if (!(sym(api.nccl, "ncclGetVersion", api.getVersion) && sym(api.nccl, "ncclGetUniqueId", api.getUniqueId) &&
        sym(api.nccl, "ncclCommInitRank", api.commInitRank) && sym(api.nccl, "ncclAllReduce", api.allReduce) &&
        sym(api.nccl, "ncclBroadcast", api.broadcast) && sym(api.nccl, "ncclCommDestroy", api.commDestroy) &&
        sym(api.nccl, "ncclGetErrorString", api.getErrorString) &&
        sym(api.cudart, "cudaSetDevice", api.cudaSetDevice) && sym(api.cudart, "cudaMalloc", api.cudaMalloc) &&
        sym(api.cudart, "cudaFree", api.cudaFree) && sym(api.cudart, "cudaMemcpy", api.cudaMemcpy) &&
        sym(api.cudart, "cudaStreamCreate", api.cudaStreamCreate) &&
        sym(api.cudart, "cudaStreamDestroy", api.cudaStreamDestroy) &&
        sym(api.cudart, "cudaStreamSynchronize", api.cudaStreamSynchronize) &&
        sym(api.cudart, "cudaGetErrorString", api.cudaGetErrorString))) {
    api.nccl = nullptr;
  }
}

bool loaded(char* err, size_t errlen, int& code) {
  std::call_once(once, loadOnce);
  if (api.nccl && api.cudart && loadError.empty()) return true;
  code = ct_dist_fail(err, errlen, CT_DIST_UNAVAILABLE, loadError);
  return false;
}

#define NCCL_CHECK(call, what)                                                                        \
  do {                                                                                                \
    ncclResult_t r_ = (call);                                                                         \
    if (r_ != 0) return ct_dist_fail(err, errlen, CT_DIST_IO, std::string(what) + ": " + api.getErrorString(r_)); \
  } while (0)
#define CUDA_CHECK(call, what)                                                                        \
  do {                                                                                                \
    int r_ = (call);                                                                                  \
    if (r_ != 0) return ct_dist_fail(err, errlen, CT_DIST_IO, std::string(what) + ": " + api.cudaGetErrorString(r_)); \
  } while (0)

}  // namespace

struct ct_nccl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void* staging = nullptr;
  size_t stagingBytes = 0;
  int device = 0;
  int rank = 0;
  int size = 1;
};

namespace {
int ensureStaging(ct_nccl* c, size_t bytes, char* err, size_t errlen) {
  if (c->stagingBytes >= bytes) return CT_DIST_OK;
  if (c->staging) CUDA_CHECK(api.cudaFree(c->staging), "cudaFree");
  c->staging = nullptr;
  c->stagingBytes = 0;
  CUDA_CHECK(api.cudaMalloc(&c->staging, bytes), "cudaMalloc");
  c->stagingBytes = bytes;
  return CT_DIST_OK;
}
}  // namespace

extern "C" {

int ct_nccl_load(char* err, size_t errlen) {
  int code = CT_DIST_OK;
  if (!loaded(err, errlen, code)) return code;
  return ct_dist_ok(err, errlen);
}

int ct_nccl_version(int* version, char* err, size_t errlen) {
  int code = CT_DIST_OK;
  if (!loaded(err, errlen, code)) return code;
  NCCL_CHECK(api.getVersion(version), "ncclGetVersion");
  return ct_dist_ok(err, errlen);
}

int ct_nccl_unique_id(unsigned char id[CT_NCCL_UNIQUE_ID_BYTES], char* err, size_t errlen) {
  int code = CT_DIST_OK;
  if (!loaded(err, errlen, code)) return code;
  ncclUniqueId u;
  NCCL_CHECK(api.getUniqueId(&u), "ncclGetUniqueId");
  std::memcpy(id, u.internal, CT_NCCL_UNIQUE_ID_BYTES);
  return ct_dist_ok(err, errlen);
}

int ct_nccl_comm_init(ct_nccl** out, int rank, int size, const unsigned char id[CT_NCCL_UNIQUE_ID_BYTES],
                      int device, char* err, size_t errlen) {
  int code = CT_DIST_OK;
  if (!out) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_comm_init: null argument");
  *out = nullptr;
  if (!loaded(err, errlen, code)) return code;
  if (size < 1 || rank < 0 || rank >= size)
    return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_comm_init: rank out of range");
  auto* c = new ct_nccl();
  c->device = device;
  c->rank = rank;
  c->size = size;
  ncclUniqueId u;
  std::memcpy(u.internal, id, CT_NCCL_UNIQUE_ID_BYTES);
  int r = api.cudaSetDevice(device);
  if (r == 0) r = api.cudaStreamCreate(&c->stream);
  if (r != 0) {
    delete c;
    return ct_dist_fail(err, errlen, CT_DIST_IO, std::string("cudaSetDevice/cudaStreamCreate: ") + api.cudaGetErrorString(r));
  }
  ncclResult_t nr = api.commInitRank(&c->comm, size, u, rank);
  if (nr != 0) {
    api.cudaStreamDestroy(c->stream);
    delete c;
    return ct_dist_fail(err, errlen, CT_DIST_IO, std::string("ncclCommInitRank: ") + api.getErrorString(nr));
  }
  *out = c;
  return ct_dist_ok(err, errlen);
}

int ct_nccl_allreduce(ct_nccl* c, float* host, size_t n, int op, char* err, size_t errlen) {
  if (!c || (!host && n > 0)) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_allreduce: null argument");
  if (op != CT_REDUCE_SUM && op != CT_REDUCE_MEAN)
    return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_allreduce: unknown op");
  if (n == 0) return ct_dist_ok(err, errlen);
  const size_t bytes = n * sizeof(float);
  if (int r = ensureStaging(c, bytes, err, errlen)) return r;
  CUDA_CHECK(api.cudaSetDevice(c->device), "cudaSetDevice");
  CUDA_CHECK(api.cudaMemcpy(c->staging, host, bytes, kCudaMemcpyHostToDevice), "cudaMemcpy H2D");
  NCCL_CHECK(api.allReduce(c->staging, c->staging, n, kNcclFloat32, op == CT_REDUCE_MEAN ? kNcclAvg : kNcclSum,
                           c->comm, c->stream),
             "ncclAllReduce");
  CUDA_CHECK(api.cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  CUDA_CHECK(api.cudaMemcpy(host, c->staging, bytes, kCudaMemcpyDeviceToHost), "cudaMemcpy D2H");
  return ct_dist_ok(err, errlen);
}

int ct_nccl_broadcast(ct_nccl* c, void* host, size_t bytes, int root, char* err, size_t errlen) {
  if (!c || (!host && bytes > 0)) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_broadcast: null argument");
  if (root < 0 || root >= c->size) return ct_dist_fail(err, errlen, CT_DIST_INVALID, "ct_nccl_broadcast: root out of range");
  if (bytes == 0) return ct_dist_ok(err, errlen);
  if (int r = ensureStaging(c, bytes, err, errlen)) return r;
  CUDA_CHECK(api.cudaSetDevice(c->device), "cudaSetDevice");
  CUDA_CHECK(api.cudaMemcpy(c->staging, host, bytes, kCudaMemcpyHostToDevice), "cudaMemcpy H2D");
  NCCL_CHECK(api.broadcast(c->staging, c->staging, bytes, kNcclUint8, root, c->comm, c->stream), "ncclBroadcast");
  CUDA_CHECK(api.cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  CUDA_CHECK(api.cudaMemcpy(host, c->staging, bytes, kCudaMemcpyDeviceToHost), "cudaMemcpy D2H");
  return ct_dist_ok(err, errlen);
}

void ct_nccl_destroy(ct_nccl* c) {
  if (!c) return;
  if (api.commDestroy && c->comm) api.commDestroy(c->comm);
  if (api.cudaFree && c->staging) api.cudaFree(c->staging);
  if (api.cudaStreamDestroy && c->stream) api.cudaStreamDestroy(c->stream);
  delete c;
}

}  // extern "C"
