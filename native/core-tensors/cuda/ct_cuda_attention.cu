/* Fused multi-head attention forward on CUDA (flash-attention-2 style, fp32 on CUDA cores).
 *
 * One thread block (128 threads) per (batch*head, tile of BQ query rows). The block keeps its Q tile in
 * shared memory and walks the key/value tiles (BK keys each) up to the causal limit; per tile it
 *   1. stages K (and the per-key visibility flags) in shared memory,
 *   2. computes the BQ x BK score tile (each thread a TM x TN register micro-tile),
 *   3. applies scale, bias and masking, and updates the running row max / row sum (online softmax),
 *      writing the probabilities P to shared memory,
 *   4. stages V in the same buffer K used, and accumulates O += P V in registers.
 * Thread t owns the TM query rows (t/8) + 16*r of the tile; the 8 lanes t%8 sharing those rows split
 * the keys (score phase) and the head-dim columns (output phase) in an interleaved way, so that all
 * shared-memory accesses are conflict-free (see the layout notes at the kernel).
 *
 * Semantics (identical to the CPU kernel): s_ij = scale * q_i.k_j + bias[b*s0 + h*s1 + i*s2 + j*s3];
 * key j is invisible to row i when key_padding_mask[b, j] != 0 or (causal and j > i, top-left
 * aligned); out_i = sum_j softmax(s)_ij v_j and lse_i = log sum_j exp(s_ij) over visible j; a row with
 * no visible key, or only -inf scores, gets out = 0 and lse = -INFINITY. Dense [B,H,T,D] layouts only: a
 * descriptor with q/k/v/o strides is rejected (CT_STATUS_INVALID_ARGUMENT). */
#include <math.h>
#include <stdio.h>

#include "ct_cuda_common.cuh"

namespace {

constexpr int kThreads = 128;  // threads per block (4 warps)
constexpr int kLanesPerRow = 8;  // consecutive lanes sharing one set of query rows
constexpr int kRowGroups = kThreads / kLanesPerRow;  // 16

struct AttnParams {
  const float *q;
  const float *k;
  const float *v;
  float *out;
  float *lse;
  const uint8_t *mask;  // [batch, k_len] or nullptr
  const float *bias;    // strided, or nullptr
  int64_t bs0, bs1, bs2, bs3;
  int heads;
  int q_len;
  int k_len;
  int head_dim;
  int bh_count;  // batch * heads
  int q_tiles;   // ceil(q_len / BQ)
  float scale;
  int causal;
};

/* Shared memory of one block, in floats (plus BK ints of key visibility flags). Row strides are
 * DP + 4 for Q and K/V (16-byte aligned rows for float4 reads, and a 4-float skew so rows fall on
 * different bank groups) and BK + 8 for P (8-float skew between consecutive rows). */
template <int DP, int BQ, int BK>
struct AttnSmem {
  static constexpr int kQStride = DP + 4;
  static constexpr int kKVStride = DP + 4;
  static constexpr int kPStride = BK + 8;
  static constexpr int kQFloats = BQ * kQStride;
  static constexpr int kKVFloats = BK * kKVStride;
  static constexpr int kPFloats = BQ * kPStride;
  static constexpr size_t kBytes =
      sizeof(float) * (size_t)(kQFloats + kKVFloats + kPFloats) + sizeof(int) * (size_t)BK;
};

__device__ __forceinline__ float row_max8(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
  return x;
}

__device__ __forceinline__ float row_sum8(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  x += __shfl_xor_sync(0xffffffffu, x, 2);
  x += __shfl_xor_sync(0xffffffffu, x, 4);
  return x;
}

/* DP: padded head dim (bucket, multiple of 32, >= head_dim); BQ query rows and BK keys per tile;
 * TM = BQ / 16 query rows per thread.
 *
 * Bank layout (warp w holds row groups g' = 4w + g, g = 0..3, lanes c = 0..7 in each):
 *  - Q float4 reads Qs[(g' + 16r) * (DP+4) + d]: 16-byte chunk index mod 8 = g' + d/4 (DP/4 is a
 *    multiple of 8), 4 distinct chunks per warp -> conflict-free; lanes of one group broadcast.
 *  - K float4 reads KV[(c + 8t) * (DP+4) + d]: chunk index mod 8 = c + d/4 -> 8 distinct chunks.
 *  - P writes Ps[(g' + 16r) * (BK+8) + c + 8t]: bank = 8g + c (+const) -> 32 distinct banks.
 *  - P float4 reads Ps[(g' + 16r) * (BK+8) + j]: chunk index mod 8 = 2g + j/4 -> 4 distinct.
 *  - V reads KV[j * (DP+4) + c + 8e]: 8 consecutive words, broadcast over the 4 groups. */
template <int DP, int BQ, int BK, int TM>
__global__ void __launch_bounds__(kThreads)
attention_forward_kernel(const AttnParams p) {
  static_assert(DP % 32 == 0, "head-dim bucket must be a multiple of 32");
  static_assert(BQ == TM * kRowGroups, "BQ must equal 16 * TM");
  static_assert(BK % 32 == 0, "BK must be a multiple of 32 (8 lanes x float4 P reads, bank skew)");
  constexpr int TN = BK / kLanesPerRow;  // keys per thread in the score phase
  constexpr int DN = DP / kLanesPerRow;  // output columns per thread
  using Smem = AttnSmem<DP, BQ, BK>;
  constexpr int QS = Smem::kQStride;
  constexpr int KS = Smem::kKVStride;
  constexpr int PS = Smem::kPStride;

  extern __shared__ float4 smem_f4[];  // float4 for 16-byte alignment
  float *const Qs = reinterpret_cast<float *>(smem_f4);
  float *const KVs = Qs + Smem::kQFloats;
  float *const Ps = KVs + Smem::kKVFloats;
  int *const kvis = reinterpret_cast<int *>(Ps + Smem::kPFloats);

  const int tid = threadIdx.x;
  const int lane8 = tid % kLanesPerRow;  // which slice of keys / columns
  const int rgrp = tid / kLanesPerRow;   // which row group (0..15)

  // Block -> (batch*head, query tile). Query tiles are visited last-first so that, under a causal
  // mask, the heaviest tiles start first.
  const int bh = (int)(blockIdx.x % (unsigned)p.bh_count);
  const int qt = p.q_tiles - 1 - (int)(blockIdx.x / (unsigned)p.bh_count);
  const int q0 = qt * BQ;
  const int b = bh / p.heads;
  const int h = bh - b * p.heads;
  const int D = p.head_dim;
  const int q_len = p.q_len;
  const int k_len = p.k_len;
  const int64_t q_base = (int64_t)bh * q_len * D;   // first element of q/out for this (b, h)
  const int64_t kv_base = (int64_t)bh * k_len * D;  // first element of k/v for this (b, h)
  const int64_t mask_base = (int64_t)b * k_len;
  const int64_t bias_bh = (int64_t)b * p.bs0 + (int64_t)h * p.bs1;

  // ---- Q tile -> shared memory, zero-padded past q_len and past head_dim ----
  for (int idx = tid; idx < BQ * DP; idx += kThreads) {
    const int r = idx / DP;
    const int d = idx % DP;
    const int i = q0 + r;
    float val = 0.f;
    if (i < q_len && d < D) val = p.q[q_base + (int64_t)i * D + d];
    Qs[r * QS + d] = val;
  }

  // Per-row online-softmax state. m_run: running max of the visible scores (-inf while none);
  // l_run: this thread's share of the running sum of exp(s - m_run) (the 8 lanes of a row share m_run,
  // so the partial sums add up at the end); acc: this thread's columns of the unnormalized output.
  float m_run[TM];
  float l_run[TM];
  float acc[TM][DN];
#pragma unroll
  for (int r = 0; r < TM; ++r) {
    m_run[r] = -INFINITY;
    l_run[r] = 0.f;
#pragma unroll
    for (int e = 0; e < DN; ++e) acc[r][e] = 0.f;
  }

  // Keys past the causal limit of the tile's last row are invisible to every row: skip their tiles.
  int k_end = k_len;
  if (p.causal) {
    const int last_row = min(q0 + BQ, q_len) - 1;  // >= q0 >= 0
    k_end = min(k_len, last_row + 1);
  }
  const int d_lim = (D + 3) & ~3;  // score loop bound; Q and K are zero in [D, DP)

  for (int k0 = 0; k0 < k_end; k0 += BK) {
    // ---- K tile and key visibility -> shared memory (zero rows for out-of-range / padded keys) ----
    for (int c = tid; c < BK; c += kThreads) {
      const int j = k0 + c;
      kvis[c] = (j < k_len) && (p.mask == nullptr || p.mask[mask_base + j] == 0);
    }
    for (int idx = tid; idx < BK * DP; idx += kThreads) {
      const int c = idx / DP;
      const int d = idx % DP;
      const int j = k0 + c;
      float val = 0.f;
      if (j < k_len && d < D) val = p.k[kv_base + (int64_t)j * D + d];
      KVs[c * KS + d] = val;
    }
    __syncthreads();

    // ---- scores: s[r][t] = q_(rgrp + 16r) . k_(lane8 + 8t) ----
    float s[TM][TN];
#pragma unroll
    for (int r = 0; r < TM; ++r)
#pragma unroll
      for (int t = 0; t < TN; ++t) s[r][t] = 0.f;

#pragma unroll 1
    for (int d = 0; d < d_lim; d += 4) {
      float4 qv[TM];
      float4 kv[TN];
#pragma unroll
      for (int r = 0; r < TM; ++r)
        qv[r] = *reinterpret_cast<const float4 *>(&Qs[(rgrp + kRowGroups * r) * QS + d]);
#pragma unroll
      for (int t = 0; t < TN; ++t)
        kv[t] = *reinterpret_cast<const float4 *>(&KVs[(lane8 + kLanesPerRow * t) * KS + d]);
#pragma unroll
      for (int r = 0; r < TM; ++r)
#pragma unroll
        for (int t = 0; t < TN; ++t) {
          float a = s[r][t];
          a = fmaf(qv[r].x, kv[t].x, a);
          a = fmaf(qv[r].y, kv[t].y, a);
          a = fmaf(qv[r].z, kv[t].z, a);
          a = fmaf(qv[r].w, kv[t].w, a);
          s[r][t] = a;
        }
    }

    // ---- scale, bias, mask; online softmax update; P -> shared memory ----
#pragma unroll
    for (int r = 0; r < TM; ++r) {
      const int lr = rgrp + kRowGroups * r;  // row within the tile
      const int i = q0 + lr;                 // query row
      const bool row_ok = i < q_len;         // rows past q_len see nothing (and are not written)
      float tile_max = -INFINITY;
#pragma unroll
      for (int t = 0; t < TN; ++t) {
        const int c = lane8 + kLanesPerRow * t;
        const int j = k0 + c;
        const bool visible = row_ok && kvis[c] != 0 && (!p.causal || j <= i);
        float sv = -INFINITY;
        if (visible) {
          sv = p.scale * s[r][t];
          if (p.bias != nullptr) sv += p.bias[bias_bh + (int64_t)i * p.bs2 + (int64_t)j * p.bs3];
        }
        s[r][t] = sv;
        tile_max = fmaxf(tile_max, sv);
      }
      tile_max = row_max8(tile_max);  // all 32 lanes take part (no divergence above)
      const float m_new = fmaxf(m_run[r], tile_max);
      float alpha;
      float psum = 0.f;
      if (m_new == -INFINITY) {
        // Nothing visible (or only -inf scores) so far: acc and l_run are still 0, all p are 0.
        alpha = 1.f;
#pragma unroll
        for (int t = 0; t < TN; ++t) s[r][t] = 0.f;
      } else {
        alpha = expf(m_run[r] - m_new);  // m_run = -inf -> 0 (acc and l_run are 0 anyway)
#pragma unroll
        for (int t = 0; t < TN; ++t) {
          const float pv = expf(s[r][t] - m_new);  // s = -inf -> exactly 0
          s[r][t] = pv;
          psum += pv;
        }
      }
      m_run[r] = m_new;
      l_run[r] = l_run[r] * alpha + psum;
#pragma unroll
      for (int e = 0; e < DN; ++e) acc[r][e] *= alpha;
#pragma unroll
      for (int t = 0; t < TN; ++t) Ps[lr * PS + lane8 + kLanesPerRow * t] = s[r][t];
    }
    __syncthreads();  // K no longer read, P complete

    // ---- V tile -> shared memory (same buffer; zero rows for out-of-range / padded keys) ----
    for (int idx = tid; idx < BK * DP; idx += kThreads) {
      const int c = idx / DP;
      const int d = idx % DP;
      const int j = k0 + c;
      float val = 0.f;
      if (kvis[c] != 0 && d < D) val = p.v[kv_base + (int64_t)j * D + d];
      KVs[c * KS + d] = val;
    }
    __syncthreads();

    // ---- acc[r][e] += sum_j P[row r][j] * V[j][lane8 + 8e]; keys >= k_end have p = 0: skip ----
    const int kc = min(BK, k_end - k0);  // >= 1
    const int kc4 = (kc + 3) & ~3;       // P and V are finite (0) in [kc, BK)
#pragma unroll 1
    for (int j = 0; j < kc4; j += 4) {
      float4 pv[TM];
#pragma unroll
      for (int r = 0; r < TM; ++r)
        pv[r] = *reinterpret_cast<const float4 *>(&Ps[(rgrp + kRowGroups * r) * PS + j]);
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        float vv[DN];
#pragma unroll
        for (int e = 0; e < DN; ++e) vv[e] = KVs[(j + jj) * KS + lane8 + kLanesPerRow * e];
#pragma unroll
        for (int r = 0; r < TM; ++r) {
          const float pr = jj == 0 ? pv[r].x : jj == 1 ? pv[r].y : jj == 2 ? pv[r].z : pv[r].w;
#pragma unroll
          for (int e = 0; e < DN; ++e) acc[r][e] = fmaf(pr, vv[e], acc[r][e]);
        }
      }
    }
    __syncthreads();  // before the next tile overwrites KVs, kvis and Ps
  }

  // ---- normalize and write out / lse ----
#pragma unroll
  for (int r = 0; r < TM; ++r) {
    const float l = row_sum8(l_run[r]);  // all 32 lanes take part
    const int i = q0 + rgrp + kRowGroups * r;
    if (i < q_len) {
      // Once m_run is finite the row sum is >= 1 (the max element contributes exp(0) = 1), so l == 0
      // can only mean "no visible key"; the test on both keeps the empty row NaN-free regardless.
      const bool empty = (m_run[r] == -INFINITY) || (l == 0.f);
      float *const orow = p.out + q_base + (int64_t)i * D;
#pragma unroll
      for (int e = 0; e < DN; ++e) {
        const int col = lane8 + kLanesPerRow * e;
        if (col < D) orow[col] = empty ? 0.f : acc[r][e] / l;
      }
      if (lane8 == 0) p.lse[(int64_t)bh * q_len + i] = empty ? -INFINITY : m_run[r] + logf(l);
    }
  }
}

const char *const kFn = "ct_cuda_attention_forward";

template <int DP, int BQ, int BK, int TM>
ct_status launch_bucket(AttnParams prm) {
  using Smem = AttnSmem<DP, BQ, BK>;
  auto kernel = attention_forward_kernel<DP, BQ, BK, TM>;
  const size_t smem = Smem::kBytes;
  cudaError_t err;
  if (smem > 48 * 1024) {
    int dev = 0;
    err = cudaGetDevice(&dev);
    if (err != cudaSuccess) return ct_cuda::device_error(kFn, "cudaGetDevice", err);
    int optin = 0;
    err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (err != cudaSuccess) return ct_cuda::device_error(kFn, "cudaDeviceGetAttribute", err);
    if ((size_t)optin < smem) {
      return ct_error_set(CT_STATUS_DEVICE_ERROR,
                          "%s: head_dim bucket %d needs %zu bytes of shared memory per block, the "
                          "device allows %d",
                          kFn, DP, smem, optin);
    }
    err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (err != cudaSuccess) return ct_cuda::device_error(kFn, "cudaFuncSetAttribute", err);
  }
  prm.q_tiles = (prm.q_len + BQ - 1) / BQ;
  const int64_t blocks = (int64_t)prm.q_tiles * prm.bh_count;
  if (blocks > INT32_MAX) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: too many blocks (batch*heads*q tiles = %lld)",
                        kFn, (long long)blocks);
  }
  kernel<<<dim3((unsigned)blocks), dim3(kThreads), smem>>>(prm);
  err = cudaGetLastError();
  if (err != cudaSuccess) return ct_cuda::device_error(kFn, "kernel launch", err);
  return CT_STATUS_OK;
}

ct_status launch_attention(AttnParams prm) {
  const int d = prm.head_dim;
  //                    DP   BQ  BK  TM       shared memory
  if (d <= 32) return launch_bucket<32, 64, 64, 4>(prm);    // 37,120 B
  if (d <= 64) return launch_bucket<64, 64, 32, 4>(prm);    // 36,480 B
  if (d <= 128) return launch_bucket<128, 32, 32, 2>(prm);  // 39,040 B
  return launch_bucket<256, 32, 32, 2>(prm);                // 71,808 B (opt-in, sm_80+: up to 163 KB)
}

ct_status attention_forward_impl(const ct_attention_desc *d, const float *q, const float *k,
                                 const float *v, float *out, float *lse) {
  using ct_cuda::checked_add;
  using ct_cuda::checked_mul;
  if (d == nullptr) return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: desc is NULL", kFn);
  if (d->batch < 0 || d->heads < 0 || d->q_len < 0 || d->k_len < 0) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                        "%s: negative size (batch %lld, heads %lld, q_len %lld, k_len %lld)", kFn,
                        (long long)d->batch, (long long)d->heads, (long long)d->q_len,
                        (long long)d->k_len);
  }
  if (d->head_dim < 1 || d->head_dim > 256) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: head_dim %lld is outside 1..256", kFn,
                        (long long)d->head_dim);
  }
  // Dense [B,H,T,D] only: the q/k/v/out layout strides are a CPU-kernel feature (the host<->device
  // copies here move whole dense arrays). All-zero strides are the dense layout.
  {
    const char *names[4] = {"q_strides", "k_strides", "v_strides", "o_strides"};
    const int64_t *layouts[4] = {d->q_strides, d->k_strides, d->v_strides, d->o_strides};
    for (int a = 0; a < 4; ++a)
      if (layouts[a][0] != 0 || layouts[a][1] != 0 || layouts[a][2] != 0) {
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT,
                            "%s: %s {%lld, %lld, %lld}: strided layouts are not supported on CUDA (dense "
                            "[B,H,T,D] only, all strides 0); ct_attention_forward takes them",
                            kFn, names[a], (long long)layouts[a][0], (long long)layouts[a][1],
                            (long long)layouts[a][2]);
      }
  }
  int64_t bh = 0, q_elems = 0, kv_elems = 0, rows = 0, mask_elems = 0;
  if (!checked_mul(d->batch, d->heads, &bh) || !checked_mul(bh, d->q_len, &rows) ||
      !checked_mul(rows, d->head_dim, &q_elems) || !checked_mul(bh, d->k_len, &kv_elems) ||
      !checked_mul(kv_elems, d->head_dim, &kv_elems) ||
      !checked_mul(d->batch, d->k_len, &mask_elems) || bh > INT32_MAX || d->q_len > INT32_MAX ||
      d->k_len > INT32_MAX || q_elems > (int64_t)(SIZE_MAX / 8) || kv_elems > (int64_t)(SIZE_MAX / 8)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: tensor sizes overflow", kFn);
  }
  if (rows > 0 && (q == nullptr || out == nullptr || lse == nullptr)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: q, out and lse must not be NULL", kFn);
  }
  if (kv_elems > 0 && (k == nullptr || v == nullptr)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: k and v must not be NULL", kFn);
  }

  // Bias: copy the minimal extent its strides address, 1 + sum_dim (size_dim - 1) * stride_dim.
  const bool use_bias = d->bias != nullptr && rows > 0 && d->k_len > 0;
  int64_t bias_elems = 0;
  if (use_bias) {
    const int64_t sizes[4] = {d->batch, d->heads, d->q_len, d->k_len};
    int64_t extent = 1;
    for (int a = 0; a < 4; ++a) {
      if (d->bias_strides[a] < 0) {
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: bias stride %d is negative (%lld)", kFn,
                            a, (long long)d->bias_strides[a]);
      }
      int64_t term = 0;
      if (!checked_mul(sizes[a] - 1, d->bias_strides[a], &term) || !checked_add(extent, term, &extent)) {
        return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: bias extent overflows", kFn);
      }
    }
    if (extent > (int64_t)(SIZE_MAX / 8)) {
      return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: bias extent overflows", kFn);
    }
    bias_elems = extent;
  }
  const bool use_mask = d->key_padding_mask != nullptr && rows > 0 && d->k_len > 0;

  const ct_status dev = ct_cuda::require_device(kFn);
  if (dev != CT_STATUS_OK) return dev;
  if (rows == 0) return CT_STATUS_OK;  // nothing to compute

  const size_t q_bytes = (size_t)q_elems * sizeof(float);
  const size_t kv_bytes = (size_t)kv_elems * sizeof(float);
  const size_t lse_bytes = (size_t)rows * sizeof(float);
  const size_t mask_bytes = use_mask ? (size_t)mask_elems : 0;
  const size_t bias_bytes = (size_t)bias_elems * sizeof(float);

  ct_cuda::DeviceArena arena;
  size_t o_q, o_k, o_v, o_out, o_lse, o_mask, o_bias;
  if (!arena.reserve(q_bytes, &o_q) || !arena.reserve(kv_bytes, &o_k) ||
      !arena.reserve(kv_bytes, &o_v) || !arena.reserve(q_bytes, &o_out) ||
      !arena.reserve(lse_bytes, &o_lse) || !arena.reserve(mask_bytes, &o_mask) ||
      !arena.reserve(bias_bytes, &o_bias)) {
    return ct_error_set(CT_STATUS_INVALID_ARGUMENT, "%s: device buffer size overflows", kFn);
  }
  cudaError_t err = arena.allocate();
  if (err != cudaSuccess) {
    char what[64];
    snprintf(what, sizeof what, "cudaMalloc of %zu bytes", arena.size());
    return ct_cuda::device_error(kFn, what, err);
  }

  AttnParams prm{};
  prm.q = arena.at<float>(o_q);
  prm.k = arena.at<float>(o_k);
  prm.v = arena.at<float>(o_v);
  prm.out = arena.at<float>(o_out);
  prm.lse = arena.at<float>(o_lse);
  prm.mask = use_mask ? arena.at<uint8_t>(o_mask) : nullptr;
  prm.bias = use_bias ? arena.at<float>(o_bias) : nullptr;
  prm.bs0 = use_bias ? d->bias_strides[0] : 0;
  prm.bs1 = use_bias ? d->bias_strides[1] : 0;
  prm.bs2 = use_bias ? d->bias_strides[2] : 0;
  prm.bs3 = use_bias ? d->bias_strides[3] : 0;
  prm.heads = (int)d->heads;
  prm.q_len = (int)d->q_len;
  prm.k_len = (int)d->k_len;
  prm.head_dim = (int)d->head_dim;
  prm.bh_count = (int)bh;
  prm.scale = d->scale;
  prm.causal = d->causal != 0;

  if ((err = ct_cuda::copy_in(arena.at<float>(o_q), q, q_bytes)) != cudaSuccess ||
      (err = ct_cuda::copy_in(arena.at<float>(o_k), k, kv_bytes)) != cudaSuccess ||
      (err = ct_cuda::copy_in(arena.at<float>(o_v), v, kv_bytes)) != cudaSuccess ||
      (err = ct_cuda::copy_in(arena.at<uint8_t>(o_mask), d->key_padding_mask, mask_bytes)) !=
          cudaSuccess ||
      (err = ct_cuda::copy_in(arena.at<float>(o_bias), d->bias, bias_bytes)) != cudaSuccess) {
    return ct_cuda::device_error(kFn, "cudaMemcpy (host to device)", err);
  }

  const ct_status st = launch_attention(prm);
  if (st != CT_STATUS_OK) return st;

  // cudaMemcpy synchronizes with the kernel and reports its execution errors.
  if ((err = ct_cuda::copy_out(out, arena.at<float>(o_out), q_bytes)) != cudaSuccess ||
      (err = ct_cuda::copy_out(lse, arena.at<float>(o_lse), lse_bytes)) != cudaSuccess) {
    return ct_cuda::device_error(kFn, "kernel execution / cudaMemcpy (device to host)", err);
  }
  return CT_STATUS_OK;
}

}  // namespace

extern "C" ct_status ct_cuda_attention_forward(const ct_attention_desc *d, const float *q,
                                               const float *k, const float *v, float *out,
                                               float *lse) {
  const ct_status st = attention_forward_impl(d, q, k, v, out, lse);
  // The arena is freed by now; leave no (non-sticky) CUDA error behind for the next caller.
  if (st != CT_STATUS_OK && st != CT_STATUS_INVALID_ARGUMENT) (void)cudaGetLastError();
  return st;
}
