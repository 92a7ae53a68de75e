// ct_features_get: what this binary was built with.
#include "ct_internal.h"

#ifndef CT_HAVE_BLAS
#define CT_HAVE_BLAS 0
#endif
#ifndef CT_WITH_CUDA
#define CT_WITH_CUDA 0
#endif

#if CT_HAVE_DNNL
#include <cstdio>
#include <oneapi/dnnl/dnnl.h>
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
#if CT_HAVE_DNNL
  static char dnnl_text[96];
  if (!dnnl_text[0]) {
    const dnnl_version_t *v = dnnl_version();
    const char *isa = "?";
    switch (dnnl_get_effective_cpu_isa()) {
      case dnnl_cpu_isa_sse41: isa = "sse41"; break;
      case dnnl_cpu_isa_avx: isa = "avx"; break;
      case dnnl_cpu_isa_avx2: isa = "avx2"; break;
      case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
      case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
      case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
      default: break;
    }
    std::snprintf(dnnl_text, sizeof dnnl_text, "oneDNN %d.%d.%d, isa %s", v->major, v->minor, v->patch, isa);
  }
  out->dnnl = dnnl_text;
#else
  out->dnnl = "";
#endif
}
