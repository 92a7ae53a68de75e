// ct_pg_* when the addon is built without gloo (libgloo-dev absent): every call says so.
#include "ct_distributed.h"
#include "status.h"

namespace {
int not_compiled(char* err, size_t errlen) {
  return ct_dist_fail(err, errlen, CT_DIST_NOT_COMPILED,
                      "the distributed addon was built without gloo; install libgloo-dev "
                      "(apt-get install libgloo-dev) and rebuild with "
                      "`npx nx run distributed-native:build-native`");
}
}  // namespace

extern "C" {
int ct_dist_gloo_compiled(void) { return 0; }
int ct_dist_gloo_version(void) { return 0; }
int ct_pg_connect(ct_pg** out, int, int, const ct_store_spec*, const ct_transport_spec*, int64_t, char* err,
                  size_t errlen) {
  if (out) *out = nullptr;
  return not_compiled(err, errlen);
}
int ct_pg_rank(const ct_pg*) { return -1; }
int ct_pg_size(const ct_pg*) { return 0; }
int ct_pg_allreduce(ct_pg*, float*, size_t, int, uint32_t, int64_t, char* err, size_t errlen) {
  return not_compiled(err, errlen);
}
int ct_pg_broadcast(ct_pg*, void*, size_t, int, uint32_t, int64_t, char* err, size_t errlen) {
  return not_compiled(err, errlen);
}
int ct_pg_barrier(ct_pg*, uint32_t, int64_t, char* err, size_t errlen) { return not_compiled(err, errlen); }
void ct_pg_destroy(ct_pg*) {}
}
