/**
 * The native addon's JS surface (N-API glue in native/core-tensors/src/napi.cc) and its loader.
 * Every function validates its arguments and throws a TypeError/RangeError naming the function and the
 * offending argument; none of them keeps a reference to the arrays after it returns.
 */
import { createRequire } from 'node:module';

export interface AddonFeatures {
  apiVersion: number;
  blas: boolean;
  blasVendor: string;
  simd: string;
  cudaCompiled: boolean;
  cudaDevices: number;
  threads: number;
  /** OpenBLAS's kernel set (openblas_get_corename: "SkylakeX", "Haswell", "Prescott" = generic); "" without OpenBLAS. */
  blasCore: string;
  /** openblas_get_config (version, DYNAMIC_ARCH, threads); "" without OpenBLAS. */
  blasConfig: string;
  /** oneDNN's version and the instruction set its JIT kernels use on this CPU ("oneDNN 2.6.3, isa avx2"); "" without oneDNN. */
  dnnl: string;
  /** The engine behind `gemm` / `bmm` now (see `setGemmEngine`). */
  gemmEngine: GemmEngine;
  /** The engines this build has, best first. */
  gemmEngines: GemmEngine[];
}

/**
 * GEMM engines: `dnnl` (oneDNN's sgemm, JIT-generated for the CPU it runs on; the default when built),
 * `blas` (CBLAS/OpenBLAS, kernels from its CPU table), `portable` (the addon's own blocked kernel).
 */
export type GemmEngine = 'dnnl' | 'blas' | 'portable';
export const GEMM_ENGINES: readonly GemmEngine[] = ['dnnl', 'blas', 'portable'];

/** The loader's OpenBLAS core decision (native/core-tensors/blas_core.cjs), made before the library loaded. */
export interface BlasCoreChoice {
  /** OPENBLAS_CORETYPE in effect at load, or null when the library detected the CPU itself. */
  core: string | null;
  source: 'environment' | 'auto' | 'library';
  reason: string;
}

export interface AttentionArgs {
  batch: number;
  heads: number;
  qLen: number;
  kLen: number;
  headDim: number;
  scale: number;
  causal: boolean;
  /** [batch, kLen], nonzero = padded key (ignored). */
  keyPaddingMask?: Uint8Array;
  /** Additive bias addressed with biasStrides over (batch, heads, q, k); 0 strides broadcast. */
  bias?: Float32Array;
  biasStrides?: [number, number, number, number];
  /**
   * Layouts of q (and dq), k (dk), v (dv), out (dout): element strides over (batch, head, token), the
   * headDim axis contiguous. Absent or [0, 0, 0] = dense [B,H,T,D]. With strides an array only has to
   * reach the highest element they address, so q, k and v may be views into one packed buffer
   * (`qkv.subarray(heads*headDim)` for k); the backward writes only the elements the strides address.
   * CPU kernels only (cudaAttentionForward rejects them). Needs features().apiVersion >= 2.
   */
  qStrides?: LayoutStrides;
  kStrides?: LayoutStrides;
  vStrides?: LayoutStrides;
  outStrides?: LayoutStrides;
}

/** Element strides over (batch, head, token) of an attention operand (ct_attention_desc.q_strides …). */
export type LayoutStrides = [number, number, number];

export interface ComposeArgs {
  rows: number;
  armDim: number;
  scale?: Float32Array;
  shift?: Float32Array;
  low?: Float32Array;
  high?: Float32Array;
}

/** C = alpha * op(A) op(B) + beta * C, packed row-major matrices (ct_gemm_run). */
export type GemmFn = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
) => void;

/** Attention forward into out [B,H,Tq,D] and lse [B,H,Tq] (ct_attention_forward; CUDA: host arrays). */
export type AttentionForwardFn = (
  args: AttentionArgs,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
) => void;

/** Residual composition into arm, prob, closed (ct_residual_compose; CUDA: host arrays). */
export type ResidualComposeFn = (
  args: ComposeArgs,
  anchor: Float32Array,
  delta: Float32Array | null,
  gripLogit: Float32Array,
  gripDelta: Float32Array | null,
  arm: Float32Array,
  prob: Float32Array,
  closed: Uint8Array,
) => void;

/** Scalars of one AdamW step (ct_adamw_desc): decay = 1 − lr·wd, stepSize = lr / (1 − β1^t), sqrtBc2 = √(1 − β2^t). */
export interface AdamWArgs {
  beta1: number;
  beta2: number;
  eps: number;
  decay: number;
  stepSize: number;
  sqrtBc2: number;
  /** Gradients are multiplied by this first (default 1). */
  gradScale?: number;
}

export interface CoreTensorsAddon {
  features(): AddonFeatures;
  /** One AdamW step over p (ct_adamw_update, double arithmetic, float32 storage); all arrays p's length. */
  adamwUpdate(
    args: AdamWArgs,
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    outP: Float32Array,
    outM: Float32Array,
    outV: Float32Array,
  ): void;
  /** Σ x² of each array, accumulated in double (ct_sum_squares). */
  sumSquares(arrays: readonly Float32Array[]): Float64Array;
  setThreads(n: number): void;
  /** Engine for `gemm` and `bmm`, process-wide (throws naming the engine when this build lacks it). */
  setGemmEngine(name: GemmEngine): void;
  /** C = op(A) op(B) row-major; see ct_gemm_run. */
  gemm: GemmFn;
  /** The portable blocked SIMD GEMM (what `gemm` uses when no BLAS was found); exported so tests and
   *  benchmarks reach it in BLAS builds too. Same contract as `gemm`. */
  gemmPortable: GemmFn;
  /** Batched GEMM with broadcast index maps; see ct_bmm_run. aIndex/bIndex may be null (identity). */
  bmm(
    transA: boolean,
    transB: boolean,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aIndex: Int32Array | null,
    b: Float32Array,
    bIndex: Int32Array | null,
    c: Float32Array,
  ): void;
  attentionForward: AttentionForwardFn;
  /** Deterministic (bit-identical across runs and thread counts). dbias may be null (the usual case:
   *  use attentionBiasGrad when the bias needs a gradient); when given it is accumulated into
   *  (zero-fill it first) and costs a second pass. */
  attentionBackward(
    args: AttentionArgs,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dout: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dbias: Float32Array | null,
  ): void;
  /** Gradient of args.bias (required; dbias has its length and layout, broadcast dimensions summed).
   *  Overwrites all of dbias. Recomputes the score gradients tile by tile; deterministic. */
  attentionBiasGrad(
    args: AttentionArgs,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dout: Float32Array,
    dbias: Float32Array,
  ): void;
  residualCompose: ResidualComposeFn;
  residualComposeBackward(
    args: ComposeArgs,
    anchor: Float32Array,
    delta: Float32Array | null,
    gripLogit: Float32Array,
    gripDelta: Float32Array | null,
    dArm: Float32Array | null,
    dProb: Float32Array | null,
    dArmIn: Float32Array | null,
    dLogit: Float32Array | null,
    dGripDelta: Float32Array | null,
  ): void;
  /** CUDA versions (host arrays in/out). Throw when CUDA is not compiled or no device is present. */
  cudaAttentionForward: AttentionForwardFn;
  cudaResidualCompose: ResidualComposeFn;
  /** out = a (op) b with numpy broadcasting (ranks <= 6); op is a BinaryOp; see ct_binary_run. */
  binaryRun(
    op: BinaryOp,
    a: Float32Array,
    aShape: readonly number[],
    b: Float32Array,
    bShape: readonly number[],
    out: Float32Array,
  ): void;
  /** out[i] = op(x[i]); op is a UnaryOp; see ct_unary_run. */
  unaryRun(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  /** Sum / mean / max over distinct non-negative `axes` (rank <= 6); out holds the kept dims. */
  reduceRun(
    op: ReduceOp,
    x: Float32Array,
    shape: readonly number[],
    axes: readonly number[],
    out: Float32Array,
  ): void;
  /** out = x permuted by perm (rank <= 6). */
  transposeRun(x: Float32Array, shape: readonly number[], perm: readonly number[], out: Float32Array): void;
  /** Layer norm over the last axis of x [rows, dim]; gamma/beta [dim] or null; writes y, mean/rstd [rows]. */
  layerNormForward(
    rows: number,
    dim: number,
    eps: number,
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
  ): void;
  /** Writes dx and, when given, dgamma/dbeta [dim] (summed over rows, overwritten). */
  layerNormBackward(
    rows: number,
    dim: number,
    x: Float32Array,
    gamma: Float32Array | null,
    mean: Float32Array,
    rstd: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
  ): void;
  /** y[m,n] = x[m,k] · w[n,k]ᵀ, then + bias[n] on every row when bias is given (ct_linear_forward). */
  linearForward(
    m: number,
    n: number,
    k: number,
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
  ): void;
  /** GELU, exact erf (tanh = false) or tanh approximation. */
  geluForward(tanh: boolean, x: Float32Array, y: Float32Array): void;
  geluBackward(tanh: boolean, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** Softmax over the last axis of a [rows, cols] array. */
  softmaxForward(rows: number, cols: number, x: Float32Array, y: Float32Array): void;
  /** Copies the box `size` at srcBegin of src into dst at dstBegin (ct_region_copy; Slice and PadV2). */
  regionCopy(
    src: Float32Array,
    srcShape: readonly number[],
    srcBegin: readonly number[],
    dst: Float32Array,
    dstShape: readonly number[],
    dstBegin: readonly number[],
    size: readonly number[],
  ): void;
}

/** ct_binary_op codes. */
export const BinaryOp = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  max: 4,
  min: 5,
  squaredDifference: 6,
} as const;
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp];

/** ct_unary_op codes. */
export const UnaryOp = {
  exp: 0,
  log: 1,
  neg: 2,
  sqrt: 3,
  rsqrt: 4,
  square: 5,
  tanh: 6,
  sigmoid: 7,
  relu: 8,
  erf: 9,
  abs: 10,
} as const;
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp];

/** ct_reduce_op codes. */
export const ReduceOp = { sum: 0, mean: 1, max: 2 } as const;
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp];

/** Largest rank the native elementwise / reduce / transpose kernels take (CT_MAX_RANK). */
export const NATIVE_MAX_RANK = 6;

interface LoadedAddon {
  addon: CoreTensorsAddon;
  file: string;
  blasChoice: BlasCoreChoice;
  apiVersion: number;
}

interface NativeLoader {
  load(): LoadedAddon;
}

let cached: LoadedAddon | undefined;

/** The engine CORE_TENSORS_GEMM asks for (undefined when unset); throws naming the variable when the build lacks it. */
export function gemmEngineFromEnv(
  value: string | undefined,
  available: readonly GemmEngine[],
): GemmEngine | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(available as readonly string[]).includes(value))
    throw new Error(
      `CORE_TENSORS_GEMM=${value}: not an engine of this build (it has ${available.join(', ')}; ` +
        'oneDNN needs libdnnl-dev when the addon is built)',
    );
  return value as GemmEngine;
}

/** Loads the addon once (throws an Error naming the build command when the binary is missing). */
export function loadAddon(): CoreTensorsAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    const loader = require('@anchor-refine/core-tensors-native') as NativeLoader;
    const loaded = loader.load();
    const f = loaded.addon.features();
    const wanted = gemmEngineFromEnv(process.env.CORE_TENSORS_GEMM, f.gemmEngines);
    if (wanted) loaded.addon.setGemmEngine(wanted);
    cached = { ...loaded, apiVersion: f.apiVersion };
    if (!f.blas && !f.dnnl) {
      console.warn(
        `core-tensors: no BLAS library was found at build time; GEMM uses the portable blocked ${f.simd} kernel ` +
          '(install libopenblas-dev and rebuild for full speed).',
      );
    }
  }
  return cached.addon;
}

/**
 * The BLAS in use: library, kernel set (what OpenBLAS actually runs) and how that core was chosen
 * (OPENBLAS_CORETYPE from the user, from the loader's CPU check, or the library's own detection).
 */
export function blasInfo(): { vendor: string; core: string; config: string; choice: BlasCoreChoice } {
  const addon = loadAddon();
  const f = addon.features();
  const choice = (cached as LoadedAddon).blasChoice;
  return { vendor: f.blasVendor, core: f.blasCore, config: f.blasConfig, choice };
}

/** Chooses the engine behind native GEMM (`dnnl` | `blas` | `portable`); returns the one before. */
export function setGemmEngine(name: GemmEngine): GemmEngine {
  const addon = loadAddon();
  const before = addon.features().gemmEngine;
  addon.setGemmEngine(name);
  return before;
}

/** The first addon API version whose attention takes q/k/v/out layout strides (AttentionArgs.qStrides …). */
export const STRIDED_ATTENTION_API = 2;

/**
 * Throws unless the loaded addon takes attention layout strides: an older binary would ignore them
 * (unknown keys of args) and read the arrays as dense [B,H,T,D], so `op` refuses to run on it.
 */
export function requireStridedAttention(op: string): void {
  loadAddon();
  const version = (cached as LoadedAddon).apiVersion;
  if (version < STRIDED_ATTENTION_API) {
    throw new Error(
      `${op}: the core-tensors addon at ${(cached as LoadedAddon).file} has API version ${version}; ` +
        `strided attention layouts need ${STRIDED_ATTENTION_API} (rebuild it: npx nx run core-tensors-native:build-native)`,
    );
  }
}

/** Path of the loaded binary (for diagnostics). */
export function addonPath(): string | undefined {
  return cached?.file;
}
