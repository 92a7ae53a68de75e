/* Internal helpers shared by the CPU (.cc) and CUDA (.cu) sources. Not part of the public API. */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include "core_tensors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a printf-style message as this thread's last error (see ct_error_last) and returns status. */
ct_status ct_error_set(ct_status status, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif /* CT_INTERNAL_H */
