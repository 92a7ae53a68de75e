// Node-API glue (node-addon-api, NAPI_VERSION 8, C++ exceptions). The JS contract is
// packages/core-tensors/src/addon.ts (interface CoreTensorsAddon).
//
// Every function is synchronous, validates the type and length of every TypedArray and every size
// before touching memory (TypeError for a wrong type, RangeError for a wrong value or length, each
// message naming the function and the shapes), works on the arrays' memory in place (zero copy,
// Data() already includes the view's byteOffset) and keeps no pointer after it returns.
// A ct_status failure becomes a JS Error carrying ct_error_last() with code = "CT_STATUS_…".
// No global state lives here, so the addon is safe to load in several worker_threads.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "ct_internal.h"

namespace {

constexpr double kMaxSize = 4294967296.0;  // 2^32: larger than any TypedArray length in practice

std::string describe(const Napi::Value &v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "TypedArray";
    }
  }
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  if (v.IsObject()) return "object";
  return "value";
}

std::string num(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}

[[noreturn]] void type_error(Napi::Env env, const std::string &msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void range_error(Napi::Env env, const std::string &msg) { throw Napi::RangeError::New(env, msg); }

const char *status_code(ct_status st) {
  switch (st) {
    case CT_STATUS_OK: return "CT_STATUS_OK";
    case CT_STATUS_INVALID_ARGUMENT: return "CT_STATUS_INVALID_ARGUMENT";
    case CT_STATUS_OUT_OF_MEMORY: return "CT_STATUS_OUT_OF_MEMORY";
    case CT_STATUS_NO_DEVICE: return "CT_STATUS_NO_DEVICE";
    case CT_STATUS_NOT_COMPILED: return "CT_STATUS_NOT_COMPILED";
    case CT_STATUS_DEVICE_ERROR: return "CT_STATUS_DEVICE_ERROR";
  }
  return "CT_STATUS_UNKNOWN";
}

void check_status(Napi::Env env, const char *fn, ct_status st) {
  if (st == CT_STATUS_OK) return;
  const char *last = ct_error_last();
  Napi::Error e = Napi::Error::New(
      env, std::string(fn) + ": " + (last && *last ? last : status_code(st)));
  e.Set("code", Napi::String::New(env, status_code(st)));
  e.Set("status", Napi::Number::New(env, (double)st));
  throw e;
}

// Runs a kernel, turning C++ exceptions that escaped it into JS errors (the kernels catch their own,
// this is belt and braces: an exception must never leave a Node-API callback).
template <class F>
void run_kernel(Napi::Env env, const char *fn, F &&f) {
  ct_status st;
  try {
    st = f();
  } catch (const std::bad_alloc &) {
    throw Napi::Error::New(env, std::string(fn) + ": out of memory");
  } catch (const std::exception &e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  }
  check_status(env, fn, st);
}

struct Fn {
  Napi::Env env;
  const char *name;

  std::string pre() const { return std::string(name) + ": "; }

  int64_t size(const Napi::Value &v, const char *what, int64_t min = 0) const {
    if (!v.IsNumber()) type_error(env, pre() + what + " must be a number, got " + describe(v));
    const double x = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(x) || std::floor(x) != x)
      range_error(env, pre() + what + " must be an integer, got " + num(x));
    if (x < (double)min) range_error(env, pre() + what + " must be >= " + std::to_string(min) + ", got " + num(x));
    if (x > kMaxSize) range_error(env, pre() + what + " is too large (" + num(x) + ")");
    return (int64_t)x;
  }

  double number(const Napi::Value &v, const char *what, bool finite) const {
    if (!v.IsNumber()) type_error(env, pre() + what + " must be a number, got " + describe(v));
    const double x = v.As<Napi::Number>().DoubleValue();
    if (finite && !std::isfinite(x)) range_error(env, pre() + what + " must be finite, got " + num(x));
    return x;
  }

  bool flag(const Napi::Value &v, const char *what, bool allow_undefined) const {
    if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
    if (allow_undefined && v.IsUndefined()) return false;
    if (v.IsNumber()) {
      const double x = v.As<Napi::Number>().DoubleValue();
      if (x == 0 || x == 1) return x == 1;
    }
    type_error(env, pre() + what + " must be a boolean, got " + describe(v));
  }

  bool is_nullish(const Napi::Value &v) const { return v.IsNull() || v.IsUndefined(); }

  template <class T>
  T *array(const Napi::Value &v, napi_typedarray_type type, const char *tname, const char *what,
           bool optional, size_t *len) const {
    if (optional && is_nullish(v)) {
      *len = 0;
      return nullptr;
    }
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
      type_error(env, pre() + what + " must be a " + tname + (optional ? " or null" : "") + ", got " + describe(v));
    auto ta = v.As<Napi::TypedArrayOf<T>>();
    *len = ta.ElementLength();
    return ta.Data();
  }

  float *f32(const Napi::Value &v, const char *what, bool optional, size_t *len) const {
    return array<float>(v, napi_float32_array, "Float32Array", what, optional, len);
  }

  // expected length check: "<fn>: q has 100 floats, expected batch*heads*qLen*headDim = 128 (dims)"
  void expect(const char *what, const char *unit, size_t actual, int64_t expected, const char *formula,
              const std::string &dims) const {
    if ((int64_t)actual != expected)
      range_error(env, pre() + what + " has " + std::to_string(actual) + " " + unit + ", expected " + formula +
                           " = " + std::to_string(expected) + " (" + dims + ")");
  }

  int64_t mul(std::initializer_list<int64_t> xs, const std::string &dims) const {
    int64_t r = 1;
    for (int64_t x : xs)
      if (__builtin_mul_overflow(r, x, &r)) range_error(env, pre() + "sizes are too large (" + dims + ")");
    return r;
  }

  Napi::Object object(const Napi::Value &v, const char *what) const {
    if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction())
      type_error(env, pre() + what + " must be an object, got " + describe(v));
    return v.As<Napi::Object>();
  }
};

// ---- attention --------------------------------------------------------------------------------------

// The tensors an attention call addresses through a layout: q (and dq), k (dk), v (dv), out (dout).
enum AttnRole { kRoleQ = 0, kRoleK = 1, kRoleV = 2, kRoleOut = 3 };
// Their layout properties of args, and those names as messages give them.
const char *const kStrideProps[4] = {"qStrides", "kStrides", "vStrides", "outStrides"};
const char *const kStrideKeys[4] = {"args.qStrides", "args.kStrides", "args.vStrides", "args.outStrides"};

// The descriptor's strides of `role` (q_strides, k_strides, v_strides or o_strides).
int64_t *role_strides(ct_attention_desc &d, int role) {
  int64_t *const s[4] = {d.q_strides, d.k_strides, d.v_strides, d.o_strides};
  return s[role];
}
const int64_t *role_strides(const ct_attention_desc &d, int role) {
  return role_strides(const_cast<ct_attention_desc &>(d), role);
}

struct AttnArgs {
  ct_attention_desc d{};
  size_t bias_len = 0;
  bool has_bias = false;
  std::string dims;
  int64_t nq = 0, nk = 0, nrow = 0;  // element counts of q/out, k/v, lse
  bool strided[4] = {false, false, false, false};  // per AttnRole: args.<role>Strides given (not all 0)
  int64_t need[4] = {0, 0, 0, 0};  // per AttnRole with strides: highest element addressed + 1
};

// Reads args[prop] as an array (or TypedArray) of n integers >= 0 into out (messages name it `key`);
// false when it is absent.
bool read_strides(const Fn &f, const Napi::Object &o, const char *prop, const char *key, uint32_t n,
                  int64_t *out) {
  Napi::Value sv = o.Get(prop);
  if (f.is_nullish(sv)) return false;
  if (!(sv.IsArray() || sv.IsTypedArray()))
    type_error(f.env, f.pre() + key + " must be an array of " + std::to_string(n) + " integers, got " + describe(sv));
  Napi::Object so = sv.As<Napi::Object>();
  const uint32_t len = sv.IsArray() ? sv.As<Napi::Array>().Length() : (uint32_t)sv.As<Napi::TypedArray>().ElementLength();
  if (len != n)
    range_error(f.env, f.pre() + key + " must have " + std::to_string(n) + " entries, got " + std::to_string(len));
  for (uint32_t i = 0; i < n; ++i) {
    const std::string what = std::string(key) + "[" + std::to_string(i) + "]";
    out[i] = f.size(so.Get(i), what.c_str());
  }
  return true;
}

std::string strides_str(const int64_t *s) {
  return "[" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) + "]";
}

AttnArgs parse_attention(const Fn &f, const Napi::Value &v) {
  Napi::Object o = f.object(v, "args");
  AttnArgs a;
  ct_attention_desc &d = a.d;
  d.batch = f.size(o.Get("batch"), "args.batch");
  d.heads = f.size(o.Get("heads"), "args.heads");
  d.q_len = f.size(o.Get("qLen"), "args.qLen");
  d.k_len = f.size(o.Get("kLen"), "args.kLen");
  d.head_dim = f.size(o.Get("headDim"), "args.headDim", 1);
  if (d.head_dim > 256)
    range_error(f.env, f.pre() + "args.headDim=" + std::to_string(d.head_dim) + " exceeds the maximum 256");
  d.scale = (float)f.number(o.Get("scale"), "args.scale", true);
  d.causal = f.flag(o.Get("causal"), "args.causal", true) ? 1 : 0;
  a.dims = "batch=" + std::to_string(d.batch) + ", heads=" + std::to_string(d.heads) +
           ", qLen=" + std::to_string(d.q_len) + ", kLen=" + std::to_string(d.k_len) +
           ", headDim=" + std::to_string(d.head_dim);
  a.nq = f.mul({d.batch, d.heads, d.q_len, d.head_dim}, a.dims);
  a.nk = f.mul({d.batch, d.heads, d.k_len, d.head_dim}, a.dims);
  a.nrow = f.mul({d.batch, d.heads, d.q_len}, a.dims);

  // Layouts (element strides over batch, head, token; head_dim contiguous). Absent or all 0 = dense
  // [B,H,T,D]; otherwise an array must hold at least the highest element its strides address + 1.
  for (int r = 0; r < 4; ++r) {
    if (!read_strides(f, o, kStrideProps[r], kStrideKeys[r], 3, role_strides(d, r))) continue;
    const int64_t *s = role_strides(d, r);
    if (s[0] == 0 && s[1] == 0 && s[2] == 0) continue;
    if (s[2] > 2147483647)
      range_error(f.env, f.pre() + kStrideKeys[r] + "[2] (the token stride) must fit an int32, got " +
                             std::to_string(s[2]));
    a.strided[r] = true;
    const int64_t len = (r == kRoleQ || r == kRoleOut) ? d.q_len : d.k_len;
    const int64_t ext[4] = {d.batch, d.heads, len, d.head_dim};
    const int64_t st[4] = {s[0], s[1], s[2], 1};
    int64_t maxoff = 0;
    bool empty = false;
    for (int i = 0; i < 4; ++i) {
      empty = empty || ext[i] == 0;
      int64_t t;
      if (!empty && (__builtin_mul_overflow(ext[i] - 1, st[i], &t) || __builtin_add_overflow(maxoff, t, &maxoff)))
        range_error(f.env, f.pre() + kStrideKeys[r] + " are too large (" + a.dims + ")");
    }
    a.need[r] = empty ? 0 : maxoff + 1;
  }

  size_t len = 0;
  Napi::Value mask = o.Get("keyPaddingMask");
  d.key_padding_mask = f.array<uint8_t>(mask, napi_uint8_array, "Uint8Array", "args.keyPaddingMask", true, &len);
  if (d.key_padding_mask || !f.is_nullish(mask))
    f.expect("args.keyPaddingMask", "bytes", len, f.mul({d.batch, d.k_len}, a.dims), "batch*kLen",
             "batch=" + std::to_string(d.batch) + ", kLen=" + std::to_string(d.k_len));

  Napi::Value bias = o.Get("bias");
  d.bias = f.f32(bias, "args.bias", true, &a.bias_len);
  a.has_bias = !f.is_nullish(bias);
  if (a.has_bias) {
    Napi::Value sv = o.Get("biasStrides");
    if (!(sv.IsArray() || sv.IsTypedArray()))
      type_error(f.env, f.pre() + "args.biasStrides must be an array of 4 integers when args.bias is given, got " +
                            describe(sv));
    Napi::Object so = sv.As<Napi::Object>();
    const uint32_t n = sv.IsArray() ? sv.As<Napi::Array>().Length() : (uint32_t)sv.As<Napi::TypedArray>().ElementLength();
    if (n != 4)
      range_error(f.env, f.pre() + "args.biasStrides must have 4 entries (batch, heads, q, k strides), got " +
                             std::to_string(n));
    static const char *names[4] = {"args.biasStrides[0]", "args.biasStrides[1]", "args.biasStrides[2]",
                                   "args.biasStrides[3]"};
    for (uint32_t i = 0; i < 4; ++i) d.bias_strides[i] = f.size(so.Get(i), names[i]);
    // highest element addressed must lie inside the bias array
    const int64_t ext[4] = {d.batch, d.heads, d.q_len, d.k_len};
    bool empty = false;
    for (int64_t e : ext) empty = empty || e == 0;
    if (!empty) {
      int64_t maxoff = 0;
      for (int i = 0; i < 4; ++i) {
        int64_t t;
        if (__builtin_mul_overflow(ext[i] - 1, d.bias_strides[i], &t) || __builtin_add_overflow(maxoff, t, &maxoff))
          range_error(f.env, f.pre() + "args.biasStrides are too large (" + a.dims + ")");
      }
      if ((size_t)maxoff >= a.bias_len)
        range_error(f.env, f.pre() + "args.biasStrides [" + std::to_string(d.bias_strides[0]) + ", " +
                               std::to_string(d.bias_strides[1]) + ", " + std::to_string(d.bias_strides[2]) +
                               ", " + std::to_string(d.bias_strides[3]) + "] address element " +
                               std::to_string(maxoff) + " but args.bias has " + std::to_string(a.bias_len) +
                               " floats (" + a.dims + ")");
    }
  }
  return a;
}

// kind: an AttnRole (the tensor takes that role's layout), or -1 for lse (dense [B,H,Tq]). A dense
// layout needs exactly its element count; a strided one at least the highest element it addresses + 1
// (the array may be a view into a larger buffer, e.g. k = qkv.subarray(heads*headDim) when packed).
float *tensor(const Fn &f, const AttnArgs &a, const Napi::Value &v, const char *what, int kind) {
  size_t len = 0;
  float *p = f.f32(v, what, false, &len);
  if (kind >= 0 && a.strided[kind]) {
    if ((int64_t)len < a.need[kind]) {
      range_error(f.env, f.pre() + what + " has " + std::to_string(len) + " floats, but " + kStrideKeys[kind] +
                             " " + strides_str(role_strides(a.d, kind)) + " address element " + std::to_string(a.need[kind] - 1) +
                             " (" + a.dims + ")");
    }
  } else if (kind == kRoleQ || kind == kRoleOut) {
    f.expect(what, "floats", len, a.nq, "batch*heads*qLen*headDim", a.dims);
  } else if (kind == kRoleK || kind == kRoleV) {
    f.expect(what, "floats", len, a.nk, "batch*heads*kLen*headDim", a.dims);
  } else {
    f.expect(what, "floats", len, a.nrow, "batch*heads*qLen", a.dims);
  }
  return p;
}

// The arrays every attention call takes after args: q, k, v, out, lse (forward outputs or saved inputs)
// and, for the backward passes, dout.
struct AttnTensors {
  float *q, *k, *v, *out, *lse, *dout;
};

AttnTensors attention_tensors(const Fn &f, const AttnArgs &a, const Napi::CallbackInfo &info, bool with_dout) {
  AttnTensors t{};
  t.q = tensor(f, a, info[1], "q", kRoleQ);
  t.k = tensor(f, a, info[2], "k", kRoleK);
  t.v = tensor(f, a, info[3], "v", kRoleV);
  t.out = tensor(f, a, info[4], "out", kRoleOut);
  t.lse = tensor(f, a, info[5], "lse", -1);
  t.dout = with_dout ? tensor(f, a, info[6], "dout", kRoleOut) : nullptr;
  return t;
}

// dbias must have exactly the length of args.bias (it takes the bias's layout).
void expect_dbias_len(const Fn &f, const AttnArgs &a, size_t dlen) {
  if (dlen != a.bias_len)
    range_error(f.env, f.pre() + "dbias has " + std::to_string(dlen) + " floats, expected the length of args.bias = " +
                           std::to_string(a.bias_len) + " (" + a.dims + ")");
}

template <bool CUDA>
void attention_forward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), CUDA ? "cudaAttentionForward" : "attentionForward"};
  AttnArgs a = parse_attention(f, info[0]);
  const AttnTensors t = attention_tensors(f, a, info, false);
  run_kernel(f.env, f.name, [&] {
    return CUDA ? ct_cuda_attention_forward(&a.d, t.q, t.k, t.v, t.out, t.lse)
                : ct_attention_forward(&a.d, t.q, t.k, t.v, t.out, t.lse);
  });
}

void attention_backward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "attentionBackward"};
  AttnArgs a = parse_attention(f, info[0]);
  const AttnTensors t = attention_tensors(f, a, info, true);
  float *dq = tensor(f, a, info[7], "dq", kRoleQ);
  float *dk = tensor(f, a, info[8], "dk", kRoleK);
  float *dv = tensor(f, a, info[9], "dv", kRoleV);
  size_t dlen = 0;
  float *dbias = f.f32(info[10], "dbias", true, &dlen);
  if (dbias || !f.is_nullish(info[10])) {
    if (!a.has_bias) range_error(f.env, f.pre() + "dbias was given but args.bias is missing (dbias takes the layout of bias)");
    expect_dbias_len(f, a, dlen);
  }
  run_kernel(f.env, f.name,
             [&] { return ct_attention_backward(&a.d, t.q, t.k, t.v, t.out, t.lse, t.dout, dq, dk, dv, dbias); });
}

void attention_bias_grad(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "attentionBiasGrad"};
  AttnArgs a = parse_attention(f, info[0]);
  if (!a.has_bias) range_error(f.env, f.pre() + "args.bias is required (dbias takes the layout of bias)");
  const AttnTensors t = attention_tensors(f, a, info, true);
  size_t dlen = 0;
  float *dbias = f.f32(info[7], "dbias", false, &dlen);
  expect_dbias_len(f, a, dlen);
  // The kernel writes every element the strides address; zero the rest so all of dbias is overwritten.
  std::fill(dbias, dbias + dlen, 0.f);
  run_kernel(f.env, f.name,
             [&] { return ct_attention_bias_grad(&a.d, t.q, t.k, t.v, t.out, t.lse, t.dout, dbias); });
}

// ---- GEMM -------------------------------------------------------------------------------------------

template <bool PORTABLE>
void gemm(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), PORTABLE ? "gemmPortable" : "gemm"};
  const bool ta = f.flag(info[0], "transA", false), tb = f.flag(info[1], "transB", false);
  const int64_t m = f.size(info[2], "m"), n = f.size(info[3], "n"), k = f.size(info[4], "k");
  const float alpha = (float)f.number(info[5], "alpha", false);
  std::string dims = "m=" + std::to_string(m) + ", n=" + std::to_string(n) + ", k=" + std::to_string(k) +
                     ", transA=" + (ta ? "true" : "false") + ", transB=" + (tb ? "true" : "false");
  size_t la = 0, lb = 0, lc = 0;
  float *a = f.f32(info[6], "a", false, &la);
  float *b = f.f32(info[7], "b", false, &lb);
  const float beta = (float)f.number(info[8], "beta", false);
  float *c = f.f32(info[9], "c", false, &lc);
  f.expect("a", "floats", la, f.mul({m, k}, dims), "m*k", dims);
  f.expect("b", "floats", lb, f.mul({k, n}, dims), "k*n", dims);
  f.expect("c", "floats", lc, f.mul({m, n}, dims), "m*n", dims);
  const int64_t lda = std::max<int64_t>(1, ta ? m : k), ldb = std::max<int64_t>(1, tb ? k : n),
                ldc = std::max<int64_t>(1, n);
  run_kernel(f.env, f.name, [&] {
    return PORTABLE ? ct_gemm_portable_run(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
                    : ct_gemm_run(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  });
}

// linearForward(m, n, k, x, w, bias | null, y): y[m,n] = x[m,k] * w[n,k]^T (+ bias[n] per row).
void linear_forward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "linearForward"};
  const int64_t m = f.size(info[0], "m"), n = f.size(info[1], "n"), k = f.size(info[2], "k");
  const std::string dims = "m=" + std::to_string(m) + ", n=" + std::to_string(n) + ", k=" + std::to_string(k);
  size_t lx = 0, lw = 0, lb = 0, ly = 0;
  float *x = f.f32(info[3], "x", false, &lx);
  float *w = f.f32(info[4], "w", false, &lw);
  float *bias = f.f32(info[5], "bias", true, &lb);
  float *y = f.f32(info[6], "y", false, &ly);
  f.expect("x", "floats", lx, f.mul({m, k}, dims), "m*k", dims);
  f.expect("w", "floats", lw, f.mul({n, k}, dims), "n*k", dims);
  if (bias) f.expect("bias", "floats", lb, n, "n", dims);
  f.expect("y", "floats", ly, f.mul({m, n}, dims), "m*n", dims);
  run_kernel(f.env, f.name, [&] { return ct_linear_forward(m, n, k, x, w, bias, y); });
}

void bmm(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "bmm"};
  const bool ta = f.flag(info[0], "transA", false), tb = f.flag(info[1], "transB", false);
  const int64_t batch = f.size(info[2], "batch"), m = f.size(info[3], "m"), n = f.size(info[4], "n"),
                k = f.size(info[5], "k");
  std::string dims = "batch=" + std::to_string(batch) + ", m=" + std::to_string(m) + ", n=" + std::to_string(n) +
                     ", k=" + std::to_string(k);
  size_t la = 0, lai = 0, lb = 0, lbi = 0, lc = 0;
  float *a = f.f32(info[6], "a", false, &la);
  int32_t *ai = f.array<int32_t>(info[7], napi_int32_array, "Int32Array", "aIndex", true, &lai);
  float *b = f.f32(info[8], "b", false, &lb);
  int32_t *bi = f.array<int32_t>(info[9], napi_int32_array, "Int32Array", "bIndex", true, &lbi);
  float *c = f.f32(info[10], "c", false, &lc);
  f.expect("c", "floats", lc, f.mul({batch, m, n}, dims), "batch*m*n", dims);
  auto operand = [&](const char *name, const char *iname, size_t len, int32_t *idx, size_t ilen, int64_t per,
                     const char *per_formula, const char *full_formula) {
    if (!idx) {
      f.expect(name, "floats", len, f.mul({batch, per}, dims), full_formula, dims);
      return;
    }
    f.expect(iname, "entries", ilen, batch, "batch", dims);
    if (per > 0 && len % (size_t)per != 0)
      range_error(f.env, f.pre() + name + " has " + std::to_string(len) + " floats, not a multiple of " +
                             per_formula + " = " + std::to_string(per) + " (" + dims + ")");
    const int64_t count = per > 0 ? (int64_t)(len / (size_t)per) : INT32_MAX;
    for (int64_t i = 0; i < batch; ++i)
      if (idx[i] < 0 || idx[i] >= count)
        range_error(f.env, f.pre() + iname + "[" + std::to_string(i) + "]=" + std::to_string(idx[i]) +
                               " is outside [0, " + std::to_string(count) + ") (" + name + " holds " +
                               std::to_string(count) + " matrices of " + per_formula + " floats; " + dims + ")");
  };
  operand("a", "aIndex", la, ai, lai, f.mul({m, k}, dims), "m*k", "batch*m*k");
  operand("b", "bIndex", lb, bi, lbi, f.mul({k, n}, dims), "k*n", "batch*k*n");
  run_kernel(f.env, f.name, [&] { return ct_bmm_run(ta, tb, batch, m, n, k, a, ai, b, bi, c); });
}

// ---- residual composition ----------------------------------------------------------------------------

struct ComposeArgs {
  ct_compose_desc d{};
  std::string dims;
  int64_t n = 0;  // rows * armDim
};

ComposeArgs parse_compose(const Fn &f, const Napi::Value &v) {
  Napi::Object o = f.object(v, "args");
  ComposeArgs a;
  a.d.rows = f.size(o.Get("rows"), "args.rows");
  a.d.arm_dim = f.size(o.Get("armDim"), "args.armDim");
  a.dims = "rows=" + std::to_string(a.d.rows) + ", armDim=" + std::to_string(a.d.arm_dim);
  a.n = f.mul({a.d.rows, a.d.arm_dim}, a.dims);
  const char *names[4] = {"args.scale", "args.shift", "args.low", "args.high"};
  const char *keys[4] = {"scale", "shift", "low", "high"};
  const float **dst[4] = {&a.d.scale, &a.d.shift, &a.d.low, &a.d.high};
  for (int i = 0; i < 4; ++i) {
    size_t len = 0;
    Napi::Value x = o.Get(keys[i]);
    *dst[i] = f.f32(x, names[i], true, &len);
    if (!f.is_nullish(x)) f.expect(names[i], "floats", len, a.d.arm_dim, "armDim", a.dims);
  }
  return a;
}

float *rows_arr(const Fn &f, const ComposeArgs &a, const Napi::Value &v, const char *what, bool optional, bool per_dim) {
  size_t len = 0;
  float *p = f.f32(v, what, optional, &len);
  if (!f.is_nullish(v)) {
    if (per_dim)
      f.expect(what, "floats", len, a.n, "rows*armDim", a.dims);
    else
      f.expect(what, "floats", len, a.d.rows, "rows", a.dims);
  }
  return p;
}

template <bool CUDA>
void residual_compose(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), CUDA ? "cudaResidualCompose" : "residualCompose"};
  ComposeArgs a = parse_compose(f, info[0]);
  float *anchor = rows_arr(f, a, info[1], "anchor", false, true);
  float *delta = rows_arr(f, a, info[2], "delta", true, true);
  float *logit = rows_arr(f, a, info[3], "gripLogit", false, false);
  float *gdelta = rows_arr(f, a, info[4], "gripDelta", true, false);
  float *arm = rows_arr(f, a, info[5], "arm", false, true);
  float *prob = rows_arr(f, a, info[6], "prob", false, false);
  size_t lc = 0;
  uint8_t *closed = f.array<uint8_t>(info[7], napi_uint8_array, "Uint8Array", "closed", false, &lc);
  f.expect("closed", "bytes", lc, a.d.rows, "rows", a.dims);
  run_kernel(f.env, f.name, [&] {
    return CUDA ? ct_cuda_residual_compose(&a.d, anchor, delta, logit, gdelta, arm, prob, closed)
                : ct_residual_compose(&a.d, anchor, delta, logit, gdelta, arm, prob, closed);
  });
}

void residual_compose_backward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "residualComposeBackward"};
  ComposeArgs a = parse_compose(f, info[0]);
  float *anchor = rows_arr(f, a, info[1], "anchor", false, true);
  float *delta = rows_arr(f, a, info[2], "delta", true, true);
  float *logit = rows_arr(f, a, info[3], "gripLogit", false, false);
  float *gdelta = rows_arr(f, a, info[4], "gripDelta", true, false);
  float *darm = rows_arr(f, a, info[5], "dArm", true, true);
  float *dprob = rows_arr(f, a, info[6], "dProb", true, false);
  float *darm_in = rows_arr(f, a, info[7], "dArmIn", true, true);
  float *dlogit = rows_arr(f, a, info[8], "dLogit", true, false);
  float *dgdelta = rows_arr(f, a, info[9], "dGripDelta", true, false);
  run_kernel(f.env, f.name, [&] {
    return ct_residual_compose_backward(&a.d, anchor, delta, logit, gdelta, darm, dprob, darm_in, dlogit, dgdelta);
  });
}

// ---- optimizer -----------------------------------------------------------------------------------------

// adamwUpdate({beta1, beta2, eps, decay, stepSize, sqrtBc2, gradScale}, p, g, m, v, outP, outM, outV)
void adamw_update(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "adamwUpdate"};
  Napi::Object o = f.object(info[0], "args");
  ct_adamw_desc d{};
  d.beta1 = f.number(o.Get("beta1"), "args.beta1", true);
  d.beta2 = f.number(o.Get("beta2"), "args.beta2", true);
  d.eps = f.number(o.Get("eps"), "args.eps", true);
  d.decay = f.number(o.Get("decay"), "args.decay", true);
  d.step_size = f.number(o.Get("stepSize"), "args.stepSize", true);
  d.sqrt_bc2 = f.number(o.Get("sqrtBc2"), "args.sqrtBc2", true);
  d.grad_scale = o.Get("gradScale").IsUndefined() ? 1.0 : f.number(o.Get("gradScale"), "args.gradScale", true);
  const char *names[7] = {"p", "g", "m", "v", "outP", "outM", "outV"};
  float *arr[7];
  size_t len[7];
  for (int i = 0; i < 7; ++i) arr[i] = f.f32(info[i + 1], names[i], false, &len[i]);
  const std::string dims = "p has " + std::to_string(len[0]) + " floats";
  for (int i = 1; i < 7; ++i) f.expect(names[i], "floats", len[i], (int64_t)len[0], "p.length", dims);
  run_kernel(f.env, f.name, [&] {
    return ct_adamw_update(&d, (int64_t)len[0], arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6]);
  });
}

// sumSquares([x0, x1, ...]) -> Float64Array of sum(xi^2) per array
Napi::Value sum_squares(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "sumSquares"};
  if (!info[0].IsArray()) type_error(f.env, f.pre() + "arrays must be an Array of Float32Array, got " + describe(info[0]));
  Napi::Array list = info[0].As<Napi::Array>();
  const uint32_t n = list.Length();
  Napi::Float64Array out = Napi::Float64Array::New(f.env, n);
  for (uint32_t i = 0; i < n; ++i) {
    size_t len = 0;
    const std::string what = "arrays[" + std::to_string(i) + "]";
    float *x = f.f32(list.Get(i), what.c_str(), false, &len);
    double s = 0.0;
    run_kernel(f.env, f.name, [&] { return ct_sum_squares((int64_t)len, x, &s); });
    out[i] = s;
  }
  return out;
}

// ---- library ------------------------------------------------------------------------------------------

Napi::Value features(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ct_features ft{};
  ct_features_get(&ft);
  Napi::Object o = Napi::Object::New(env);
  o.Set("apiVersion", Napi::Number::New(env, ft.api_version));
  o.Set("blas", Napi::Boolean::New(env, ft.blas != 0));
  o.Set("blasVendor", Napi::String::New(env, ft.blas_vendor ? ft.blas_vendor : ""));
  o.Set("simd", Napi::String::New(env, ft.simd ? ft.simd : ""));
  o.Set("cudaCompiled", Napi::Boolean::New(env, ft.cuda_compiled != 0));
  int devices = 0;
  try {
    devices = ct_cuda_device_count();
  } catch (...) {
    devices = 0;
  }
  o.Set("cudaDevices", Napi::Number::New(env, devices < 0 ? 0 : devices));
  o.Set("threads", Napi::Number::New(env, ft.threads));
  o.Set("blasCore", Napi::String::New(env, ft.blas_core ? ft.blas_core : ""));
  o.Set("blasConfig", Napi::String::New(env, ft.blas_config ? ft.blas_config : ""));
  o.Set("dnnl", Napi::String::New(env, ft.dnnl ? ft.dnnl : ""));
  o.Set("gemmEngine", Napi::String::New(env, ct_gemm_engine_get()));
  Napi::Array engines = Napi::Array::New(env);
  uint32_t n = 0;
  for (const char *e : {"dnnl", "blas", "portable"})
    if (ct_gemm_engine_available(e)) engines.Set(n++, Napi::String::New(env, e));
  o.Set("gemmEngines", engines);
  return o;
}

void set_gemm_engine(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) type_error(env, "setGemmEngine: name must be a string, got " + describe(info[0]));
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  check_status(env, "setGemmEngine", ct_gemm_engine_set(name.c_str()));
}

void set_threads(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "setThreads"};
  const double x = f.number(info[0], "n", true);
  if (std::floor(x) != x) range_error(f.env, f.pre() + "n must be an integer, got " + num(x));
  const double clamped = std::max(-1.0, std::min(1024.0, x));
  ct_threads_set((int)clamped);
}

// ---- elementwise, reductions, transpose, layer norm, GELU ----------------------------------------------

// A shape argument: an Array (or Int32Array) of at most CT_MAX_RANK non-negative integers.
std::vector<int64_t> shape_arg(const Fn &f, const Napi::Value &v, const char *what) {
  if (!(v.IsArray() || v.IsTypedArray()))
    type_error(f.env, f.pre() + what + " must be an array of integers, got " + describe(v));
  const uint32_t n = v.IsArray() ? v.As<Napi::Array>().Length() : (uint32_t)v.As<Napi::TypedArray>().ElementLength();
  if (n > CT_MAX_RANK)
    range_error(f.env, f.pre() + what + " has rank " + std::to_string(n) + ", at most " + std::to_string(CT_MAX_RANK) +
                           " is supported");
  Napi::Object o = v.As<Napi::Object>();
  std::vector<int64_t> s(n);
  for (uint32_t i = 0; i < n; ++i) s[i] = f.size(o.Get(i), what);
  return s;
}

std::string shape_text(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_size(const Fn &f, const std::vector<int64_t> &s, const std::string &dims) {
  int64_t r = 1;
  for (int64_t x : s)
    if (__builtin_mul_overflow(r, x, &r)) range_error(f.env, f.pre() + "sizes are too large (" + dims + ")");
  return r;
}

int op_arg(const Fn &f, const Napi::Value &v, int count) {
  const int64_t op = f.size(v, "op");
  if (op >= count) range_error(f.env, f.pre() + "op must be in [0, " + std::to_string(count) + "), got " + std::to_string(op));
  return (int)op;
}

const char *const kBinaryNames[] = {"add", "sub", "mul", "div", "max", "min", "squaredDifference"};
const char *const kUnaryNames[] = {"exp", "log", "neg", "sqrt", "rsqrt", "square", "tanh", "sigmoid", "relu", "erf", "abs"};
const char *const kReduceNames[] = {"sum", "mean", "max"};

void binary_run(const Napi::CallbackInfo &info) {
  Fn f0{info.Env(), "binaryRun"};
  const int op = op_arg(f0, info[0], 7);
  const std::string name = std::string("binaryRun(") + kBinaryNames[op] + ")";
  Fn f{info.Env(), name.c_str()};
  size_t la = 0, lb = 0, lo = 0;
  float *a = f.f32(info[1], "a", false, &la);
  std::vector<int64_t> sa = shape_arg(f, info[2], "aShape");
  float *b = f.f32(info[3], "b", false, &lb);
  std::vector<int64_t> sb = shape_arg(f, info[4], "bShape");
  float *out = f.f32(info[5], "out", false, &lo);
  const std::string dims = "a " + shape_text(sa) + ", b " + shape_text(sb);
  f.expect("a", "floats", la, shape_size(f, sa, dims), "prod(aShape)", dims);
  f.expect("b", "floats", lb, shape_size(f, sb, dims), "prod(bShape)", dims);
  const size_t rank = std::max(sa.size(), sb.size());
  std::vector<int64_t> so(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i + sa.size() >= rank ? sa[i + sa.size() - rank] : 1;
    const int64_t db = i + sb.size() >= rank ? sb[i + sb.size() - rank] : 1;
    if (da != db && da != 1 && db != 1)
      range_error(f.env, f.pre() + "shapes " + shape_text(sa) + " and " + shape_text(sb) + " are not broadcast-compatible");
    so[i] = da == 1 ? db : da;
  }
  f.expect("out", "floats", lo, shape_size(f, so, dims), "prod(broadcast shape)", dims + " -> " + shape_text(so));
  run_kernel(f.env, f.name, [&] {
    return ct_binary_run((ct_binary_op)op, a, sa.data(), (int)sa.size(), b, sb.data(), (int)sb.size(), out);
  });
}

void unary_run(const Napi::CallbackInfo &info) {
  Fn f0{info.Env(), "unaryRun"};
  const int op = op_arg(f0, info[0], 11);
  const std::string name = std::string("unaryRun(") + kUnaryNames[op] + ")";
  Fn f{info.Env(), name.c_str()};
  size_t lx = 0, lo = 0;
  float *x = f.f32(info[1], "x", false, &lx);
  float *out = f.f32(info[2], "out", false, &lo);
  f.expect("out", "floats", lo, (int64_t)lx, "the length of x", "x has " + std::to_string(lx) + " floats");
  run_kernel(f.env, f.name, [&] { return ct_unary_run((ct_unary_op)op, (int64_t)lx, x, out); });
}

std::vector<int32_t> index_list(const Fn &f, const Napi::Value &v, const char *what, size_t rank) {
  if (!(v.IsArray() || v.IsTypedArray()))
    type_error(f.env, f.pre() + what + " must be an array of integers, got " + describe(v));
  const uint32_t n = v.IsArray() ? v.As<Napi::Array>().Length() : (uint32_t)v.As<Napi::TypedArray>().ElementLength();
  if (n > rank) range_error(f.env, f.pre() + what + " has " + std::to_string(n) + " entries for rank " + std::to_string(rank));
  Napi::Object o = v.As<Napi::Object>();
  std::vector<int32_t> r(n);
  std::vector<bool> seen(rank, false);
  for (uint32_t i = 0; i < n; ++i) {
    const int64_t a = f.size(o.Get(i), what);
    if ((size_t)a >= rank || seen[(size_t)a])
      range_error(f.env, f.pre() + what + "[" + std::to_string(i) + "]=" + std::to_string(a) +
                             " is out of range [0, " + std::to_string(rank) + ") or repeated");
    seen[(size_t)a] = true;
    r[i] = (int32_t)a;
  }
  return r;
}

void reduce_run(const Napi::CallbackInfo &info) {
  Fn f0{info.Env(), "reduceRun"};
  const int op = op_arg(f0, info[0], 3);
  const std::string name = std::string("reduceRun(") + kReduceNames[op] + ")";
  Fn f{info.Env(), name.c_str()};
  size_t lx = 0, lo = 0;
  float *x = f.f32(info[1], "x", false, &lx);
  std::vector<int64_t> s = shape_arg(f, info[2], "shape");
  std::vector<int32_t> axes = index_list(f, info[3], "axes", s.size());
  float *out = f.f32(info[4], "out", false, &lo);
  const std::string dims = "shape " + shape_text(s);
  f.expect("x", "floats", lx, shape_size(f, s, dims), "prod(shape)", dims);
  int64_t kept = 1;
  std::vector<bool> red(s.size(), false);
  for (int32_t a : axes) red[(size_t)a] = true;
  for (size_t i = 0; i < s.size(); ++i)
    if (!red[i]) kept *= s[i];
  f.expect("out", "floats", lo, kept, "prod(kept dims)", dims);
  run_kernel(f.env, f.name, [&] {
    return ct_reduce_run((ct_reduce_op)op, x, s.data(), (int)s.size(), axes.data(), (int)axes.size(), out);
  });
}

void transpose_run(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "transposeRun"};
  size_t lx = 0, lo = 0;
  float *x = f.f32(info[0], "x", false, &lx);
  std::vector<int64_t> s = shape_arg(f, info[1], "shape");
  std::vector<int32_t> perm = index_list(f, info[2], "perm", s.size());
  float *out = f.f32(info[3], "out", false, &lo);
  const std::string dims = "shape " + shape_text(s);
  if (perm.size() != s.size())
    range_error(f.env, f.pre() + "perm has " + std::to_string(perm.size()) + " entries, expected rank " +
                           std::to_string(s.size()) + " (" + dims + ")");
  const int64_t n = shape_size(f, s, dims);
  f.expect("x", "floats", lx, n, "prod(shape)", dims);
  f.expect("out", "floats", lo, n, "prod(shape)", dims);
  run_kernel(f.env, f.name, [&] { return ct_transpose_run(x, s.data(), (int)s.size(), perm.data(), out); });
}

void layernorm_forward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "layerNormForward"};
  const int64_t rows = f.size(info[0], "rows"), dim = f.size(info[1], "dim");
  const double eps = f.number(info[2], "eps", true);
  if (eps < 0) range_error(f.env, f.pre() + "eps must be >= 0, got " + num(eps));
  const std::string dims = "rows=" + std::to_string(rows) + ", dim=" + std::to_string(dim);
  const int64_t n = f.mul({rows, dim}, dims);
  size_t lx = 0, lg = 0, lb = 0, ly = 0, lm = 0, lr = 0;
  float *x = f.f32(info[3], "x", false, &lx);
  float *gamma = f.f32(info[4], "gamma", true, &lg);
  float *beta = f.f32(info[5], "beta", true, &lb);
  float *y = f.f32(info[6], "y", false, &ly);
  float *mean = f.f32(info[7], "mean", false, &lm);
  float *rstd = f.f32(info[8], "rstd", false, &lr);
  f.expect("x", "floats", lx, n, "rows*dim", dims);
  if (gamma) f.expect("gamma", "floats", lg, dim, "dim", dims);
  if (beta) f.expect("beta", "floats", lb, dim, "dim", dims);
  f.expect("y", "floats", ly, n, "rows*dim", dims);
  f.expect("mean", "floats", lm, rows, "rows", dims);
  f.expect("rstd", "floats", lr, rows, "rows", dims);
  run_kernel(f.env, f.name, [&] { return ct_layernorm_forward(rows, dim, (float)eps, x, gamma, beta, y, mean, rstd); });
}

void layernorm_backward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "layerNormBackward"};
  const int64_t rows = f.size(info[0], "rows"), dim = f.size(info[1], "dim");
  const std::string dims = "rows=" + std::to_string(rows) + ", dim=" + std::to_string(dim);
  const int64_t n = f.mul({rows, dim}, dims);
  size_t lx = 0, lg = 0, lm = 0, lr = 0, ldy = 0, ldx = 0, ldg = 0, ldb = 0;
  float *x = f.f32(info[2], "x", false, &lx);
  float *gamma = f.f32(info[3], "gamma", true, &lg);
  float *mean = f.f32(info[4], "mean", false, &lm);
  float *rstd = f.f32(info[5], "rstd", false, &lr);
  float *dy = f.f32(info[6], "dy", false, &ldy);
  float *dx = f.f32(info[7], "dx", false, &ldx);
  float *dgamma = f.f32(info[8], "dgamma", true, &ldg);
  float *dbeta = f.f32(info[9], "dbeta", true, &ldb);
  f.expect("x", "floats", lx, n, "rows*dim", dims);
  if (gamma) f.expect("gamma", "floats", lg, dim, "dim", dims);
  f.expect("mean", "floats", lm, rows, "rows", dims);
  f.expect("rstd", "floats", lr, rows, "rows", dims);
  f.expect("dy", "floats", ldy, n, "rows*dim", dims);
  f.expect("dx", "floats", ldx, n, "rows*dim", dims);
  if (dgamma) f.expect("dgamma", "floats", ldg, dim, "dim", dims);
  if (dbeta) f.expect("dbeta", "floats", ldb, dim, "dim", dims);
  run_kernel(f.env, f.name,
             [&] { return ct_layernorm_backward(rows, dim, x, gamma, mean, rstd, dy, dx, dgamma, dbeta); });
}

void gelu_forward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "geluForward"};
  const bool tanh_mode = f.flag(info[0], "tanh", false);
  size_t lx = 0, ly = 0;
  float *x = f.f32(info[1], "x", false, &lx);
  float *y = f.f32(info[2], "y", false, &ly);
  f.expect("y", "floats", ly, (int64_t)lx, "the length of x", "x has " + std::to_string(lx) + " floats");
  run_kernel(f.env, f.name, [&] { return ct_gelu_forward(tanh_mode ? CT_GELU_TANH : CT_GELU_EXACT, (int64_t)lx, x, y); });
}

void gelu_backward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "geluBackward"};
  const bool tanh_mode = f.flag(info[0], "tanh", false);
  size_t lx = 0, ldy = 0, ldx = 0;
  float *x = f.f32(info[1], "x", false, &lx);
  float *dy = f.f32(info[2], "dy", false, &ldy);
  float *dx = f.f32(info[3], "dx", false, &ldx);
  const std::string dims = "x has " + std::to_string(lx) + " floats";
  f.expect("dy", "floats", ldy, (int64_t)lx, "the length of x", dims);
  f.expect("dx", "floats", ldx, (int64_t)lx, "the length of x", dims);
  run_kernel(f.env, f.name,
             [&] { return ct_gelu_backward(tanh_mode ? CT_GELU_TANH : CT_GELU_EXACT, (int64_t)lx, x, dy, dx); });
}

void softmax_forward(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "softmaxForward"};
  const int64_t rows = f.size(info[0], "rows"), cols = f.size(info[1], "cols");
  const std::string dims = "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols);
  const int64_t n = f.mul({rows, cols}, dims);
  size_t lx = 0, ly = 0;
  float *x = f.f32(info[2], "x", false, &lx);
  float *y = f.f32(info[3], "y", false, &ly);
  f.expect("x", "floats", lx, n, "rows*cols", dims);
  f.expect("y", "floats", ly, n, "rows*cols", dims);
  run_kernel(f.env, f.name, [&] { return ct_softmax_forward(rows, cols, x, y); });
}

// regionCopy(src, srcShape, srcBegin, dst, dstShape, dstBegin, size): the Slice and PadV2 kernels.
void region_copy(const Napi::CallbackInfo &info) {
  Fn f{info.Env(), "regionCopy"};
  size_t ls = 0, ld = 0;
  float *src = f.f32(info[0], "src", false, &ls);
  std::vector<int64_t> ss = shape_arg(f, info[1], "srcShape");
  std::vector<int64_t> sb = shape_arg(f, info[2], "srcBegin");
  float *dst = f.f32(info[3], "dst", false, &ld);
  std::vector<int64_t> ds = shape_arg(f, info[4], "dstShape");
  std::vector<int64_t> db = shape_arg(f, info[5], "dstBegin");
  std::vector<int64_t> box = shape_arg(f, info[6], "size");
  const std::string dims = "srcShape " + shape_text(ss) + ", srcBegin " + shape_text(sb) + ", dstShape " +
                           shape_text(ds) + ", dstBegin " + shape_text(db) + ", size " + shape_text(box);
  const size_t rank = ss.size();
  if (sb.size() != rank || ds.size() != rank || db.size() != rank || box.size() != rank)
    range_error(f.env, f.pre() + "all shapes, begins and size must have the same rank (" + dims + ")");
  for (size_t d = 0; d < rank; ++d)
    if (sb[d] + box[d] > ss[d] || db[d] + box[d] > ds[d])
      range_error(f.env, f.pre() + "the box does not fit in dim " + std::to_string(d) + " (" + dims + ")");
  f.expect("src", "floats", ls, shape_size(f, ss, dims), "prod(srcShape)", dims);
  f.expect("dst", "floats", ld, shape_size(f, ds, dims), "prod(dstShape)", dims);
  run_kernel(f.env, f.name, [&] {
    return ct_region_copy(src, ss.data(), sb.data(), dst, ds.data(), db.data(), box.data(), (int)rank);
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("features", Napi::Function::New(env, features, "features"));
  exports.Set("setThreads", Napi::Function::New(env, set_threads, "setThreads"));
  exports.Set("setGemmEngine", Napi::Function::New(env, set_gemm_engine, "setGemmEngine"));
  exports.Set("gemm", Napi::Function::New(env, gemm<false>, "gemm"));
  exports.Set("gemmPortable", Napi::Function::New(env, gemm<true>, "gemmPortable"));
  exports.Set("linearForward", Napi::Function::New(env, linear_forward, "linearForward"));
  exports.Set("bmm", Napi::Function::New(env, bmm, "bmm"));
  exports.Set("attentionForward", Napi::Function::New(env, attention_forward<false>, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, attention_backward, "attentionBackward"));
  exports.Set("attentionBiasGrad", Napi::Function::New(env, attention_bias_grad, "attentionBiasGrad"));
  exports.Set("residualCompose", Napi::Function::New(env, residual_compose<false>, "residualCompose"));
  exports.Set("residualComposeBackward",
              Napi::Function::New(env, residual_compose_backward, "residualComposeBackward"));
  exports.Set("cudaAttentionForward", Napi::Function::New(env, attention_forward<true>, "cudaAttentionForward"));
  exports.Set("cudaResidualCompose", Napi::Function::New(env, residual_compose<true>, "cudaResidualCompose"));
  exports.Set("binaryRun", Napi::Function::New(env, binary_run, "binaryRun"));
  exports.Set("unaryRun", Napi::Function::New(env, unary_run, "unaryRun"));
  exports.Set("reduceRun", Napi::Function::New(env, reduce_run, "reduceRun"));
  exports.Set("transposeRun", Napi::Function::New(env, transpose_run, "transposeRun"));
  exports.Set("layerNormForward", Napi::Function::New(env, layernorm_forward, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, layernorm_backward, "layerNormBackward"));
  exports.Set("geluForward", Napi::Function::New(env, gelu_forward, "geluForward"));
  exports.Set("geluBackward", Napi::Function::New(env, gelu_backward, "geluBackward"));
  exports.Set("softmaxForward", Napi::Function::New(env, softmax_forward, "softmaxForward"));
  exports.Set("regionCopy", Napi::Function::New(env, region_copy, "regionCopy"));
  exports.Set("adamwUpdate", Napi::Function::New(env, adamw_update, "adamwUpdate"));
  exports.Set("sumSquares", Napi::Function::New(env, sum_squares, "sumSquares"));
  return exports;
}

}  // namespace

NODE_API_MODULE(core_tensors, Init)
