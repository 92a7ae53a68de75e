/*
 * ct_distributed — a C surface over gloo (CPU collectives over TCP) and a run-time-loaded NCCL.
 *
 * Every function returns CT_DIST_OK (0) or an error code and, on error, writes a NUL-terminated message
 * into err[errlen]. Nothing here keeps a pointer to caller memory after it returns.
 *
 * Store callbacks: rendezvous (ct_pg_connect) exchanges transport addresses through a key-value store.
 * CT_STORE_CALLBACK forwards gloo's Store interface (set / get / wait) to the caller's functions, which
 * may block; CT_STORE_FILE and CT_STORE_REDIS use gloo's own FileStore and RedisStore.
 */
#ifndef CT_DISTRIBUTED_H
#define CT_DISTRIBUTED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_DIST_API_VERSION 1

enum ct_dist_status {
  CT_DIST_OK = 0,
  CT_DIST_INVALID = 1,      /* bad argument */
  CT_DIST_IO = 2,           /* a peer closed its connection, or a socket error */
  CT_DIST_TIMEOUT = 3,      /* the operation did not finish within its timeout */
  CT_DIST_NOT_COMPILED = 4, /* built without gloo */
  CT_DIST_UNAVAILABLE = 5,  /* a run-time library (NCCL, CUDA runtime) could not be loaded */
  CT_DIST_INTERNAL = 6
};

enum ct_store_kind { CT_STORE_CALLBACK = 0, CT_STORE_FILE = 1, CT_STORE_REDIS = 2 };

enum ct_reduce_op { CT_REDUCE_SUM = 0, CT_REDUCE_MEAN = 1 };

/* Caller-provided store. get returns a buffer the caller allocated with malloc (freed here with free). */
typedef struct ct_store_callbacks {
  void* user;
  int (*set)(void* user, const char* key, const void* data, size_t len, char* err, size_t errlen);
  int (*get)(void* user, const char* key, int64_t timeout_ms, void** data, size_t* len, char* err,
             size_t errlen);
  int (*wait)(void* user, const char* const* keys, size_t nkeys, int64_t timeout_ms, char* err,
              size_t errlen);
} ct_store_callbacks;

typedef struct ct_store_spec {
  int kind;                       /* enum ct_store_kind */
  const char* path;               /* CT_STORE_FILE: a folder every rank can reach */
  const char* host;               /* CT_STORE_REDIS */
  int port;                       /* CT_STORE_REDIS */
  const char* prefix;             /* keys are namespaced under this prefix (may be NULL) */
  ct_store_callbacks callbacks;   /* CT_STORE_CALLBACK */
} ct_store_spec;

/* Where this rank listens for its peers: a network interface name (e.g. "eth0") when iface is set,
 * otherwise hostname (an address or a name that resolves to one; default 127.0.0.1). */
typedef struct ct_transport_spec {
  const char* hostname;
  const char* iface;
} ct_transport_spec;

typedef struct ct_pg ct_pg;

/* 1 when compiled against gloo with the TCP transport. */
int ct_dist_gloo_compiled(void);
/* gloo's version as MAJOR*10000 + MINOR*100 + PATCH (0 without gloo). */
int ct_dist_gloo_version(void);

/* Connect a full mesh of `size` processes over TCP. */
int ct_pg_connect(ct_pg** out, int rank, int size, const ct_store_spec* store,
                  const ct_transport_spec* transport, int64_t timeout_ms, char* err, size_t errlen);
int ct_pg_rank(const ct_pg* pg);
int ct_pg_size(const ct_pg* pg);
/* In-place all-reduce of n float32 values (ring algorithm). Calls with different tags may overlap. */
int ct_pg_allreduce(ct_pg* pg, float* data, size_t n, int op, uint32_t tag, int64_t timeout_ms, char* err,
                    size_t errlen);
/* In-place broadcast of `bytes` bytes from `root`. */
int ct_pg_broadcast(ct_pg* pg, void* data, size_t bytes, int root, uint32_t tag, int64_t timeout_ms,
                    char* err, size_t errlen);
int ct_pg_barrier(ct_pg* pg, uint32_t tag, int64_t timeout_ms, char* err, size_t errlen);
void ct_pg_destroy(ct_pg* pg);

/* ---- NCCL, loaded at run time with dlopen (libnccl.so.2 + libcudart.so) -------------------------------- */
#define CT_NCCL_UNIQUE_ID_BYTES 128
typedef struct ct_nccl ct_nccl;

/* Loads the libraries once; CT_DIST_UNAVAILABLE with the dlopen/dlsym message when they are absent. */
int ct_nccl_load(char* err, size_t errlen);
/* NCCL's version code (ncclGetVersion), after a successful ct_nccl_load. */
int ct_nccl_version(int* version, char* err, size_t errlen);
int ct_nccl_unique_id(unsigned char id[CT_NCCL_UNIQUE_ID_BYTES], char* err, size_t errlen);
int ct_nccl_comm_init(ct_nccl** out, int rank, int size, const unsigned char id[CT_NCCL_UNIQUE_ID_BYTES],
                      int device, char* err, size_t errlen);
/* All-reduce of n float32 host values: copied to the device, reduced, copied back. */
int ct_nccl_allreduce(ct_nccl* comm, float* host, size_t n, int op, char* err, size_t errlen);
int ct_nccl_broadcast(ct_nccl* comm, void* host, size_t bytes, int root, char* err, size_t errlen);
void ct_nccl_destroy(ct_nccl* comm);

#ifdef __cplusplus
}
#endif
#endif
