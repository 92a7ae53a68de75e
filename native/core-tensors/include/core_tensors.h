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

#define CT_API_VERSION 2 /* 2: ct_attention_desc gained the q/k/v/out layout strides */

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
  const char *blas_core;    /* OpenBLAS: the kernel set it runs (openblas_get_corename, e.g. "SkylakeX",
                               "Prescott" when it did not know the CPU); "" otherwise */
  const char *blas_config;  /* OpenBLAS: openblas_get_config (version and build options); "" otherwise */
  const char *dnnl;         /* oneDNN: version and the instruction set its JIT kernels use here, e.g.
                               "oneDNN 2.6.3, isa avx2"; "" when the build has no oneDNN */
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

/* Linear layer (PyTorch's nn.Linear layout): y[m,n] = x[m,k] * w[n,k]^T, then + bias[n] on every row when
 * bias is not NULL. The bias is added after the product, so y is bit-identical to ct_gemm_run followed
 * by a broadcast add (one call instead of two kernels: the tfjs `Linear` kernel). y must not overlap
 * x, w or bias. */
ct_status ct_linear_forward(int64_t m, int64_t n, int64_t k, const float *x, const float *w, const float *bias,
                            float *y);

/* GEMM engine for ct_gemm_run / ct_bmm_run: "dnnl" (oneDNN, when compiled; the default then), "blas"
 * (CBLAS, when compiled) or "portable" (the addon's own kernel). The initial choice is the best compiled
 * one, or CORE_TENSORS_GEMM when it names a compiled engine. Process-wide. */
ct_status ct_gemm_engine_set(const char *name);
const char *ct_gemm_engine_get(void);
int ct_gemm_engine_available(const char *name); /* 1 when the engine is in this build */

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
  /* Layouts of q, k, v and out: element strides over (batch, head, token); the head_dim axis is always
   * contiguous (stride 1), so element (b, h, t, c) of q is q[b*s[0] + h*s[1] + t*s[2] + c].
   * All three 0 = the dense [B,H,T,D] layout {H*T*D, T*D, D} (what a zero-initialised descriptor
   * gives, so callers that predate the strides are unchanged). Examples, D = head_dim:
   *   [B,T,H,D]                          {T*H*D, D, H*D}
   *   q | k | v packed as [B,T,3,H,D]     {T*3*H*D, D, 3*H*D} for all three, with k = q + H*D and
   *                                       v = q + 2*H*D (one buffer, three interleaved views)
   * Strides are >= 0 and the token stride fits an int. A layout whose elements must be written (out in
   * the forward; q, k, v in the backward, because dq, dk, dv take them) must not address one element
   * twice (sorted by stride, every stride exceeds the span of the smaller ones). */
  int64_t q_strides[3], k_strides[3], v_strides[3], o_strides[3];
} ct_attention_desc;

/* out[b,h,i,:] = sum_j softmax_j(scale * q_i.k_j + bias_ij | mask) v_j
 * lse[b,h,i]   = log sum_j exp(scale * q_i.k_j + bias_ij) over visible j, -INFINITY when none.
 * A query row that sees no key yields zeros (and zero gradients). q, k, v are read and out is written
 * through the layouts above (by default q/out [B,H,Tq,D], k/v [B,H,Tk,D]); only the elements the
 * o_strides address are written. lse is always dense [B,H,Tq]. */
ct_status ct_attention_forward(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                               float *out, float *lse);

/* Gradients given dout. dq, dk, dv take the layouts of q, k, v (q_strides, k_strides, v_strides) and
 * out and dout that of out (o_strides); lse is dense [B,H,Tq]. Writes (overwrites) every element of
 * dq, dk, dv that its strides address and NO other element, so dq, dk and dv may be interleaved views
 * of one buffer (the packed [B,T,3,H,D] layout: together they write all of it); they must not overlap
 * each other or any input. When dbias is not NULL it must have the
 * layout of d->bias (same strides; broadcast dimensions are summed into it) and is ACCUMULATED into,
 * so the caller zero-fills it; this costs a second pass (ct_attention_bias_grad), so pass NULL when the
 * bias needs no gradient (constant masks) and call ct_attention_bias_grad only when it does.
 * Deterministic: the work partition and every floating-point summation order depend only on the
 * shapes, never on the thread count or on scheduling (no atomics, no locks on sums), so repeated calls
 * give bit-identical results for any ct_threads_set value; and no element is written by two threads. */
ct_status ct_attention_backward(const ct_attention_desc *d, const float *q, const float *k,
                                const float *v, const float *out, const float *lse, const float *dout,
                                float *dq, float *dk, float *dv, float *dbias);

/* Gradient of the bias alone: dbias = sum over the bias's broadcast dimensions of
 * dS = P * (dP - rowsum(dO * O)), recomputed tile by tile from q, k, v, out, lse (as given to/returned
 * by ct_attention_forward) and dout (out's layout, o_strides). d->bias must be set: dbias takes its
 * layout (d->bias_strides; a 0 stride is a broadcast dimension that is summed). Every element the
 * strides address is WRITTEN (no need to zero-fill; elements the strides never address are left
 * untouched). Deterministic and independent of the thread count, like ct_attention_backward. */
ct_status ct_attention_bias_grad(const ct_attention_desc *d, const float *q, const float *k, const float *v,
                                 const float *out, const float *lse, const float *dout, float *dbias);

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

/* ---- optimizer (AdamW, global gradient norm) ------------------------------------------------------ */

typedef struct ct_adamw_desc {
  double beta1, beta2, eps;
  double decay;      /* 1 - lr * weight_decay */
  double step_size;  /* lr / (1 - beta1^t) */
  double sqrt_bc2;   /* sqrt(1 - beta2^t), > 0 */
  double grad_scale; /* gradients are multiplied by this first (1 = none; a clip coefficient) */
} ct_adamw_desc;

/* One AdamW step over n elements (torch.optim.AdamW order, double arithmetic, float32 storage):
 *   g' = grad_scale*g;  m' = beta1*m + (1-beta1)*g';  v' = beta2*v + (1-beta2)*g'^2
 *   p' = p*decay - step_size*m' / (sqrt(v')/sqrt_bc2 + eps)
 * Writes out_p/out_m/out_v: each is either its input (in place) or disjoint from every input; no partial
 * overlap. Independent of the thread count. */
ct_status ct_adamw_update(const ct_adamw_desc *d, int64_t n, const float *p, const float *g, const float *m,
                          const float *v, float *out_p, float *out_m, float *out_v);

/* *out = sum of x[i]^2 in double (fixed blocks in a fixed order: independent of the thread count). */
ct_status ct_sum_squares(int64_t n, const float *x, double *out);

/* ---- CUDA (host pointers in and out; the kernels copy to and from the device) --------------------- */

/* Number of usable CUDA devices; 0 when none or when CUDA was not compiled in. */
int ct_cuda_device_count(void);

/* ct_attention_forward on the GPU, dense [B,H,T,D] layouts only: nonzero q/k/v/o strides are rejected
 * with CT_STATUS_INVALID_ARGUMENT (the strided layouts are a CPU-kernel feature). */
ct_status ct_cuda_attention_forward(const ct_attention_desc *d, const float *q, const float *k,
                                    const float *v, float *out, float *lse);

ct_status ct_cuda_residual_compose(const ct_compose_desc *d, const float *anchor, const float *delta,
                                   const float *grip_logit, const float *grip_delta, float *arm,
                                   float *prob, uint8_t *closed);

/* ---- elementwise, reductions, transpose, layer norm, GELU (the tfjs `native` kernel overrides) ----- *
 * All fp32, dense row-major. Shapes are int64 arrays of length rank (rank 0 = scalar, 1 element).
 * Results do not depend on the thread count: work is split over output elements only, and reductions
 * that span tasks (layer-norm dgamma/dbeta) combine fixed-size blocks in a fixed order. */

#define CT_MAX_RANK 6

typedef enum ct_binary_op {
  CT_BINARY_ADD = 0,
  CT_BINARY_SUB = 1,
  CT_BINARY_MUL = 2,
  CT_BINARY_DIV = 3,
  CT_BINARY_MAX = 4,               /* NaN-propagating (JavaScript Math.max) */
  CT_BINARY_MIN = 5,               /* NaN-propagating (JavaScript Math.min) */
  CT_BINARY_SQUARED_DIFFERENCE = 6 /* (a - b)^2 */
} ct_binary_op;

/* out = a (op) b with numpy broadcasting: shapes are right-aligned, each dimension pair must be equal
 * or contain a 1. out holds the broadcast shape (rank max(a_rank, b_rank) <= CT_MAX_RANK). */
ct_status ct_binary_run(ct_binary_op op, const float *a, const int64_t *a_shape, int a_rank,
                        const float *b, const int64_t *b_shape, int b_rank, float *out);

typedef enum ct_unary_op {
  CT_UNARY_EXP = 0,
  CT_UNARY_LOG = 1,
  CT_UNARY_NEG = 2,
  CT_UNARY_SQRT = 3,
  CT_UNARY_RSQRT = 4,
  CT_UNARY_SQUARE = 5,
  CT_UNARY_TANH = 6,
  CT_UNARY_SIGMOID = 7, /* 1 / (1 + exp(-x)) */
  CT_UNARY_RELU = 8,    /* x < 0 ? 0 : x (NaN passes) */
  CT_UNARY_ERF = 9,
  CT_UNARY_ABS = 10
} ct_unary_op;

/* out[i] = op(x[i]) for i in [0, n). out may equal x. */
ct_status ct_unary_run(ct_unary_op op, int64_t n, const float *x, float *out);

typedef enum ct_reduce_op {
  CT_REDUCE_SUM = 0,  /* accumulated in double; an empty reduction gives 0 */
  CT_REDUCE_MEAN = 1, /* sum / count; an empty reduction gives NaN */
  CT_REDUCE_MAX = 2   /* NaN-propagating; an empty reduction gives -INFINITY */
} ct_reduce_op;

/* Reduces x (shape, rank <= CT_MAX_RANK) over the n_axes distinct axes in [0, rank) (any order; none =
 * a copy). out holds the kept dimensions in their original order (keepDims only changes the shape). */
ct_status ct_reduce_run(ct_reduce_op op, const float *x, const int64_t *shape, int rank, const int32_t *axes,
                        int n_axes, float *out);

/* out = x permuted: out.shape[i] = shape[perm[i]], perm a permutation of [0, rank), rank <= CT_MAX_RANK. */
ct_status ct_transpose_run(const float *x, const int64_t *shape, int rank, const int32_t *perm, float *out);

/* Layer normalization over the last axis of x [rows, dim]:
 *   mean[r] = sum_j x[r,j] / dim,  rstd[r] = 1 / sqrt(sum_j (x[r,j] - mean[r])^2 / dim + eps)  (two-pass)
 *   y[r,j]  = (x[r,j] - mean[r]) * rstd[r] * gamma[j] + beta[j]      (gamma NULL = 1, beta NULL = 0)
 * mean and rstd ([rows]) are saved for the backward pass. */
ct_status ct_layernorm_forward(int64_t rows, int64_t dim, float eps, const float *x, const float *gamma,
                               const float *beta, float *y, float *mean, float *rstd);

/* Gradients given dy [rows, dim] and the forward's mean/rstd. Writes (overwrites) dx, and dgamma/dbeta
 * [dim] (summed over rows) when they are not NULL. gamma NULL = 1. */
ct_status ct_layernorm_backward(int64_t rows, int64_t dim, const float *x, const float *gamma,
                                const float *mean, const float *rstd, const float *dy, float *dx, float *dgamma,
                                float *dbeta);

typedef enum ct_gelu_mode {
  CT_GELU_EXACT = 0, /* x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))                      (torch default) */
  CT_GELU_TANH = 1   /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (approximate='tanh') */
} ct_gelu_mode;

ct_status ct_gelu_forward(ct_gelu_mode mode, int64_t n, const float *x, float *y);

/* dx = dy * gelu'(x). */
ct_status ct_gelu_backward(ct_gelu_mode mode, int64_t n, const float *x, const float *dy, float *dx);

/* ---- softmax ------------------------------------------------------------------------------------- */

/* y[r,:] = softmax(x[r,:]) over the last axis of a [rows, cols] array. A row whose maximum is -inf or
 * NaN gives NaN (tfjs semantics). The gradient is left to tfjs's registered Softmax gradient. */
ct_status ct_softmax_forward(int64_t rows, int64_t cols, const float *x, float *y);

/* ---- region copy (Slice, PadV2) ------------------------------------------------------------------ */

/* Copies the box of extent size[0..rank) at src_begin in src (shape src_shape) to dst_begin in dst
 * (shape dst_shape); rank <= CT_MAX_RANK, the box must fit both. dst elements outside the box are left
 * as they are (PadV2 fills them with the pad value first). */
ct_status ct_region_copy(const float *src, const int64_t *src_shape, const int64_t *src_begin, float *dst,
                         const int64_t *dst_shape, const int64_t *dst_begin, const int64_t *size, int rank);

#ifdef __cplusplus
}
#endif

#endif /* CORE_TENSORS_H */
