// Elementwise fp32 kernels with tfjs (numpy) broadcasting: ct_binary_run and ct_unary_run.
//
// Binary: the two shapes are right-aligned and broadcast; then size-1 output dimensions are dropped and
// neighbouring dimensions in which each operand is "full" or "broadcast" alike are merged, so the usual
// patterns collapse to one or two dimensions (same shape -> [n]; [N,C]+[C] -> [N,C] with b broadcast
// along N; scalar -> [n] with a stride-0 operand). The innermost merged dimension is a contiguous row
// handled by one of four vectorizable loops (stride 0/1 for each operand); the outer merged dimensions
// (at most CT_MAX_RANK - 1) give every row's operand offsets. Work is split into tasks of about kGrain
// elements on the shared pool; every output element is computed independently, so the result does not
// depend on the thread count (deterministic).
//
// NaN semantics follow JavaScript (tfjs-cpu): maximum/minimum propagate NaN like Math.max/Math.min.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "ct_internal.h"

namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel task
constexpr int64_t kShortRow = 64;    // rows shorter than this are batched (see ct_binary_run)

struct OpAdd { static inline float f(float a, float b) { return a + b; } };
struct OpSub { static inline float f(float a, float b) { return a - b; } };
struct OpMul { static inline float f(float a, float b) { return a * b; } };
struct OpDiv { static inline float f(float a, float b) { return a / b; } };
struct OpMax { static inline float f(float a, float b) { return (a > b || a != a) ? a : b; } };
struct OpMin { static inline float f(float a, float b) { return (a < b || a != a) ? a : b; } };
struct OpSqd {
  static inline float f(float a, float b) {
    const float d = a - b;
    return d * d;
  }
};

// One contiguous output row of length n; sa/sb are the operands' inner strides (0 = broadcast value).
template <class Op>
void binary_row(int64_t n, const float *__restrict a, int sa, const float *__restrict b, int sb,
                float *__restrict o) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], b[i]);
  } else if (sa) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(a[i], bv);
  } else if (sb) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = Op::f(av, b[i]);
  } else {
    const float v = Op::f(*a, *b);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

using RowFn = void (*)(int64_t, const float *, int, const float *, int, float *);

RowFn row_fn(ct_binary_op op) {
  switch (op) {
    case CT_BINARY_ADD: return binary_row<OpAdd>;
    case CT_BINARY_SUB: return binary_row<OpSub>;
    case CT_BINARY_MUL: return binary_row<OpMul>;
    case CT_BINARY_DIV: return binary_row<OpDiv>;
    case CT_BINARY_MAX: return binary_row<OpMax>;
    case CT_BINARY_MIN: return binary_row<OpMin>;
    case CT_BINARY_SQUARED_DIFFERENCE: return binary_row<OpSqd>;
  }
  return nullptr;
}

const char *binary_name(int op) {
  static const char *names[] = {"add", "sub", "mul", "div", "max", "min", "squared_difference"};
  return op >= 0 && op <= 6 ? names[op] : "?";
}

void shape_str(char *buf, size_t cap, const int64_t *shape, int rank) {
  size_t p = 0;
  p += (size_t)snprintf(buf + p, cap - p, "[");
  for (int i = 0; i < rank && p < cap; ++i)
    p += (size_t)snprintf(buf + p, cap - p, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (p < cap) snprintf(buf + p, cap - p, "]");
}

// Splits [0, rows) x [0, len) into tasks of about kGrain elements and runs fn(row0, row1, col0, col1).
template <class F>
void run_rows(int64_t rows, int64_t len, F &&fn) {
  const int64_t total = rows * len;
  if (total <= 0) return;
  if (total < 2 * kGrain || ct::pool_threads() <= 1) {
    fn(0, rows, 0, len);
    return;
  }
  if (len >= kGrain) {
    const int64_t segs = (len + kGrain - 1) / kGrain;
    const int64_t seg = (len + segs - 1) / segs;
    ct::parallel_for(rows * segs, [&](int64_t t) {
      const int64_t r = t / segs, s = t % segs;
      const int64_t c0 = s * seg, c1 = c0 + seg < len ? c0 + seg : len;
      fn(r, r + 1, c0, c1);
    });
  } else {
    const int64_t per = kGrain / len > 0 ? kGrain / len : 1;
    const int64_t tasks = (rows + per - 1) / per;
    ct::parallel_for(tasks, [&](int64_t t) {
      const int64_t r0 = t * per, r1 = r0 + per < rows ? r0 + per : rows;
      fn(r0, r1, 0, len);
    });
  }
}

template <class F>
ct_status guarded(const char *fn, F &&f) {
  try {
    f();
  } catch (const std::bad_alloc &) {
    return ct_error_set(CT_STATUS_OUT_OF_MEMORY, "%s: out of memory", fn);
  } catch (const std::exception &e) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: %s", fn, e.what());
  }
  return CT_STATUS_OK;
}

// ---- unary ---------------------------------------------------------------------------------------------

inline float sigmoidf(float x) { return 1.f / (1.f + std::exp(-x)); }

template <int OP>
inline float unary_f(float x) {
  switch (OP) {
    case CT_UNARY_EXP: return std::exp(x);
    case CT_UNARY_LOG: return std::log(x);
    case CT_UNARY_NEG: return -x;
    case CT_UNARY_SQRT: return std::sqrt(x);
    case CT_UNARY_RSQRT: return 1.f / std::sqrt(x);
    case CT_UNARY_SQUARE: return x * x;
    case CT_UNARY_TANH: return std::tanh(x);
    case CT_UNARY_SIGMOID: return sigmoidf(x);
    case CT_UNARY_RELU: return x < 0.f ? 0.f : x;
    case CT_UNARY_ERF: return std::erf(x);
    case CT_UNARY_ABS: return std::fabs(x);
  }
  return x;
}

template <int OP>
void unary_span(int64_t n, const float *__restrict x, float *__restrict o) {
  for (int64_t i = 0; i < n; ++i) o[i] = unary_f<OP>(x[i]);
}

using SpanFn = void (*)(int64_t, const float *, float *);

SpanFn span_fn(ct_unary_op op) {
  switch (op) {
    case CT_UNARY_EXP: return unary_span<CT_UNARY_EXP>;
    case CT_UNARY_LOG: return unary_span<CT_UNARY_LOG>;
    case CT_UNARY_NEG: return unary_span<CT_UNARY_NEG>;
    case CT_UNARY_SQRT: return unary_span<CT_UNARY_SQRT>;
    case CT_UNARY_RSQRT: return unary_span<CT_UNARY_RSQRT>;
    case CT_UNARY_SQUARE: return unary_span<CT_UNARY_SQUARE>;
    case CT_UNARY_TANH: return unary_span<CT_UNARY_TANH>;
    case CT_UNARY_SIGMOID: return unary_span<CT_UNARY_SIGMOID>;
    case CT_UNARY_RELU: return unary_span<CT_UNARY_RELU>;
    case CT_UNARY_ERF: return unary_span<CT_UNARY_ERF>;
    case CT_UNARY_ABS: return unary_span<CT_UNARY_ABS>;
  }
  return nullptr;
}

}  // namespace

extern "C" ct_status ct_binary_run(ct_binary_op op, const float *a, const int64_t *a_shape, int a_rank,
                                   const float *b, const int64_t *b_shape, int b_rank, float *out) {
  static const char *fn = "ct_binary_run";
  const RowFn row = row_fn(op);
  if (!row) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: unknown op %d", fn, (int)op);
  if (a_rank < 0 || b_rank < 0 || a_rank > CT_MAX_RANK || b_rank > CT_MAX_RANK)
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s(%s): ranks %d and %d, each must be in [0, %d]", fn,
                        binary_name(op), a_rank, b_rank, CT_MAX_RANK);
  if ((a_rank && !a_shape) || (b_rank && !b_shape))
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s(%s): null shape", fn, binary_name(op));
  const int rank = a_rank > b_rank ? a_rank : b_rank;
  int64_t da[CT_MAX_RANK], db[CT_MAX_RANK], dout[CT_MAX_RANK];
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a_rank), ib = i - (rank - b_rank);
    da[i] = ia >= 0 ? a_shape[ia] : 1;
    db[i] = ib >= 0 ? b_shape[ib] : 1;
    if (da[i] < 0 || db[i] < 0 || (da[i] != db[i] && da[i] != 1 && db[i] != 1)) {
      char sa[160], sb[160];
      shape_str(sa, sizeof sa, a_shape, a_rank);
      shape_str(sb, sizeof sb, b_shape, b_rank);
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s(%s): shapes %s and %s are not broadcast-compatible", fn,
                          binary_name(op), sa, sb);
    }
    dout[i] = da[i] == 1 ? db[i] : da[i];
    total *= dout[i];
  }
  if (total == 0) return CT_STATUS_OK;
  if (!a || !b || !out) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s(%s): null tensor pointer", fn, binary_name(op));

  // merge: drop size-1 output dims, fuse neighbours with the same (a broadcast, b broadcast) pattern
  int64_t ms[CT_MAX_RANK];
  bool mba[CT_MAX_RANK], mbb[CT_MAX_RANK];
  int m = 0;
  for (int i = 0; i < rank; ++i) {
    if (dout[i] == 1) continue;
    const bool ba = da[i] == 1, bb = db[i] == 1;
    if (m > 0 && mba[m - 1] == ba && mbb[m - 1] == bb) {
      ms[m - 1] *= dout[i];
    } else {
      ms[m] = dout[i];
      mba[m] = ba;
      mbb[m] = bb;
      ++m;
    }
  }
  if (m == 0) {  // every dim is 1: one element
    row(1, a, 0, b, 0, out);
    return CT_STATUS_OK;
  }
  // element strides of each merged dim in a and b (0 when broadcast)
  int64_t sa[CT_MAX_RANK], sb[CT_MAX_RANK];
  int64_t ra = 1, rb = 1;
  for (int i = m - 1; i >= 0; --i) {
    sa[i] = mba[i] ? 0 : ra;
    sb[i] = mbb[i] ? 0 : rb;
    if (!mba[i]) ra *= ms[i];
    if (!mbb[i]) rb *= ms[i];
  }
  const int64_t len = ms[m - 1];
  const int64_t rows = total / len;
  const int ia = sa[m - 1] ? 1 : 0, ib = sb[m - 1] ? 1 : 0;
  const int outer = m - 1;
  // [rows, C] op [C] (or [C] op [rows, C]) with a short row, e.g. an image [N, H, W, 3] normalised by a
  // per-channel [3]: row calls of 3 elements would cost more than the arithmetic. The [C] operand is
  // repeated k times into a buffer, so k rows go through one contiguous row of k·C elements.
  const bool a_rows = m == 2 && sa[0] == len && ia && sb[0] == 0 && ib;  // a full, b one row
  const bool b_rows = m == 2 && sb[0] == len && ib && sa[0] == 0 && ia;  // b full, a one row
  if (len < kShortRow && (a_rows || b_rows)) {
    float rep[2 * kShortRow];
    const int64_t k = (kShortRow + len - 1) / len;  // k·len < 2·kShortRow
    const float *once = a_rows ? b : a;
    for (int64_t i = 0; i < k * len; ++i) rep[i] = once[i % len];
    const int64_t groups = (rows + k - 1) / k;
    return guarded(fn, [&] {
      run_rows(groups, k * len, [&](int64_t g0, int64_t g1, int64_t c0, int64_t c1) {
        for (int64_t g = g0; g < g1; ++g) {
          // the last group may hold fewer than k rows
          const int64_t n = std::min(c1, (rows - g * k) * len) - c0;
          if (n <= 0) continue;
          const int64_t at = g * k * len + c0;
          if (a_rows) row(n, a + at, 1, rep + c0, 1, out + at);
          else row(n, rep + c0, 1, b + at, 1, out + at);
        }
      });
    });
  }
  return guarded(fn, [&] {
    run_rows(rows, len, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t oa = 0, ob = 0, rem = r;
        for (int d = outer - 1; d >= 0; --d) {
          const int64_t idx = rem % ms[d];
          rem /= ms[d];
          oa += idx * sa[d];
          ob += idx * sb[d];
        }
        row(c1 - c0, a + oa + ia * c0, ia, b + ob + ib * c0, ib, out + r * len + c0);
      }
    });
  });
}

extern "C" ct_status ct_unary_run(ct_unary_op op, int64_t n, const float *x, float *out) {
  static const char *fn = "ct_unary_run";
  const SpanFn span = span_fn(op);
  if (!span) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: unknown op %d", fn, (int)op);
  if (n < 0) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: negative size %lld", fn, (long long)n);
  if (n == 0) return CT_STATUS_OK;
  if (!x || !out) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: null tensor pointer", fn);
  return guarded(fn, [&] {
    run_rows(1, n, [&](int64_t, int64_t, int64_t c0, int64_t c1) { span(c1 - c0, x + c0, out + c0); });
  });
}
