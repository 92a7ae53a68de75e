// ct_features_get: what this binary was built with.
#include "ct_internal.h"

#ifndef CT_HAVE_BLAS
#define CT_HAVE_BLAS 0
#endif
#ifndef CT_WITH_CUDA
#define CT_WITH_CUDA 0
#endif

#if CT_HAVE_BLAS && CT_BLAS_OPENBLAS
extern "C" char *openblas_get_corename(void);
extern "C" char *openblas_get_config(void);
#endif

extern "C" void ct_features_get(ct_features *out) {
  if (!out) return;
  out->api_version = CT_API_VERSION;
  out->blas = CT_HAVE_BLAS ? 1 : 0;
#if CT_HAVE_BLAS && CT_BLAS_OPENBLAS
  out->blas_vendor = "OpenBLAS";
#elif CT_HAVE_BLAS
  out->blas_vendor = "generic CBLAS";
#else
  out->blas_vendor = "none (portable blocked kernel)";
#endif
  out->simd = ct::simd_name();
  out->cuda_compiled = CT_WITH_CUDA ? 1 : 0;
  out->threads = ct_threads_get();
#if CT_HAVE_BLAS && CT_BLAS_OPENBLAS
  const char *core = openblas_get_corename(), *config = openblas_get_config();
  out->blas_core = core ? core : "";
  out->blas_config = config ? config : "";
#else
  out->blas_core = "";
  out->blas_config = "";
#endif
}
