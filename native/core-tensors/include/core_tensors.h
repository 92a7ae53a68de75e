/*
 * core_tensors.h — the C API of the AnchorRefine tensor engine.
 *
 * Every function is named ct_<object>_<verb>. All tensors are dense, row-major, fp32 unless noted,
 * passed as raw pointers owned by the caller (the N-API glue hands in TypedArray memory, zero copy).
 * Functions return ct_status; on failure ct_error_last() holds a message for the calling thread.
 *
 * CPU kernels are always built. CUDA kernels (ct_cuda_*) are built when nvcc is found at configure
 * time (CMake option CORE_TENSORS_WITH_CUDA); they take HOST pointers and copy to/from the device, so
 * they are callable and testable from JS exactly like the CPU kernels.
 */
#ifndef CORE_TENSORS_H
#define CORE_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_API_VERSION 1

typedef enum ct_status {
  CT_STATUS_OK = 0,
  CT_STATUS_INVALID_ARGUMENT = 1, /* bad size, null pointer where one is required, bad stride */
  CT_STATUS_OUT_OF_MEMORY = 2,
  CT_STATUS_NO_DEVICE = 3,        /* CUDA compiled in but no usable GPU */
  CT_STATUS_NOT_COMPILED = 4,     /* CUDA function called in a build without CUDA */
  CT_STATUS_DEVICE_ERROR = 5      /* a CUDA runtime call failed */
} ct_status;

/* ---- library ------------------------------------------------------------------------------------ */

typedef struct ct_features {
  int api_version;          /* CT_API_VERSION */
  int blas;                 /* 1 when GEMM goes through a CBLAS library */
  const char *blas_vendor;  /* "OpenBLAS", "generic CBLAS", or "none (portable blocked kernel)" */
  const char *simd;         /* instruction set the portable kernels were compiled for, e.g. "avx2+fma" */
  int cuda_compiled;        /* 1 when the ct_cuda_* kernels are in this binary */
  int threads;              /* current worker thread count */
} ct_features;

void ct_features_get(ct_features *out);

/* Thread count for all CPU kernels (and the BLAS library). n <= 0 restores the default: the
 * CORE_TENSORS_THREADS environment variable when set, otherwise the number of cores. */
void ct_threads_set(int n);
int ct_threads_get(void);

/* Message of the last failed call on this thread ("" when none). */
const char *ct_error_last(void);

/* ---- GEMM --------------------------------------------------------------------------------------- */

/* C[m,n] = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions lda/ldb/ldc.
 * op(A) is A[m,k] (trans_a = 0) or A[k,m]^T (trans_a = 1); op(B) is B[k,n] or B[n,k]^T. */
ct_status ct_gemm_run(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                      int64_t ldc);

/* Batched GEMM with broadcast batch dimensions: for i in [0, batch),
 *   C[i] = op(A[a_index[i]]) * op(B[b_index[i]])
 * where A holds matrices of m*k floats, B of k*n floats, C of m*n floats, packed back to back.
 * The index arrays map each output batch to its (possibly shared) operand matrices, so any numpy-style
 * broadcast of leading dimensions reduces to them. a_index/b_index may be NULL (identity). */
ct_status ct_bmm_run(int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                     const float *a, const int32_t *a_index, const float *b, const int32_t *b_index,
                     float *c);

/* ---- fused multi-head attention (flash style: key/value tiles, online softmax) -------------------- */

typedef struct ct_attention_desc {
  int64_t batch, heads, q_len, k_len, head_dim; /* head_dim <= 256 */
  float scale;                                  /* usually 1/sqrt(head_dim) */
  int causal;                                   /* query i sees key j iff j <= i (top-left, as torch SDPA) */
  const uint8_t *key_padding_mask;              /* [batch, k_len], nonzero = padded key, ignored; or NULL */
  const float *bias;                            /* additive scores bias, may hold -INFINITY; or NULL */
  int64_t bias_strides[4];                      /* element strides of bias over (batch, heads, q, k);
                                                   0 broadcasts that dimension */
} ct_attention_desc;

/* out[b,h,i,:] = sum_j softmax_j(scale * q_i.k_j + bias_ij | mask) v_j
 * lse[b,h,i]   = log sum_j exp(scale * q_i.k_j + bias_ij) over visible j, -INFINITY when none.
 * A query row that sees no key yields zeros (and zero gradients). q/out [B,H,Tq,D], k/v [B,H,Tk,D]. */
ct_status ct_attention_forward(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                               float *out, float *lse);

/* Gradients given dout. Writes (overwrites) dq, dk, dv. When dbias is not NULL it must have the
 * layout of d->bias (same strides; broadcast dimensions are summed into it) and is ACCUMULATED into,
 * so the caller zero-fills it. */
ct_status ct_attention_backward(const ct_attention_desc *d, const float *q, const float *k,
                                const float *v, const float *out, const float *lse, const float *dout,
                                float *dq, float *dk, float *dv, float *dbias);

/* ---- residual composition (AnchorRefine Eq. 2 and Eq. 11, then un-normalization) ---------------- */

typedef struct ct_compose_desc {
  int64_t rows;        /* number of chunk steps, e.g. batch * horizon */
  int64_t arm_dim;     /* D - 1 */
  const float *scale;  /* [arm_dim] un-normalization x * scale + shift (mean/std: std, mean;      */
  const float *shift;  /*  q01/q99: (q99 - q01) / 2, (q99 + q01) / 2); both NULL = identity       */
  const float *low;    /* [arm_dim] clamp bounds after un-normalization; NULL = unbounded          */
  const float *high;
} ct_compose_desc;

/* arm    = clamp((anchor + delta) * scale + shift, low, high)          [rows, arm_dim]
 * prob   = clip(sigmoid(grip_logit) + grip_delta, 0, 1)                  [rows]
 * closed = prob > 0.5                                                    [rows]
 * delta and grip_delta may be NULL (anchor only). */
ct_status ct_residual_compose(const ct_compose_desc *d, const float *anchor, const float *delta,
                              const float *grip_logit, const float *grip_delta, float *arm,
                              float *prob, uint8_t *closed);

/* Gradients of arm and prob (closed has none). d_arm_in is the gradient for both anchor and delta
 * (they enter as a sum); d_logit and d_grip_delta for the gripper inputs. Any output may be NULL. */
ct_status ct_residual_compose_backward(const ct_compose_desc *d, const float *anchor, const float *delta,
                                       const float *grip_logit, const float *grip_delta,
                                       const float *d_arm, const float *d_prob, float *d_arm_in,
                                       float *d_logit, float *d_grip_delta);

/* ---- CUDA (host pointers in and out; the kernels copy to and from the device) --------------------- */

/* Number of usable CUDA devices; 0 when none or when CUDA was not compiled in. */
int ct_cuda_device_count(void);

ct_status ct_cuda_attention_forward(const ct_attention_desc *d, const float *q, const float *k,
                                    const float *v, float *out, float *lse);

ct_status ct_cuda_residual_compose(const ct_compose_desc *d, const float *anchor, const float *delta,
                                   const float *grip_logit, const float *grip_delta, float *arm,
                                   float *prob, uint8_t *closed);

#ifdef __cplusplus
}
#endif

#endif /* CORE_TENSORS_H */
