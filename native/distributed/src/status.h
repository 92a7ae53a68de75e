// Error plumbing shared by the C implementation files: write a message into the caller's buffer.
#pragma once
#include <cstdio>
#include <cstring>
#include <string>

#include "ct_distributed.h"

inline int ct_dist_fail(char* err, size_t errlen, int code, const std::string& msg) {
  if (err && errlen > 0) std::snprintf(err, errlen, "%s", msg.c_str());
  return code;
}

inline int ct_dist_ok(char* err, size_t errlen) {
  if (err && errlen > 0) err[0] = '\0';
  return CT_DIST_OK;
}
