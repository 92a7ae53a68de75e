// Thread-local last-error message (ct_error_last / ct_error_set).
#include <cstdarg>
#include <cstdio>

#include "ct_internal.h"

namespace {
thread_local char g_last_error[1024] = {0};
}

extern "C" ct_status ct_error_set(ct_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
  return status;
}

extern "C" const char *ct_error_last(void) { return g_last_error; }
