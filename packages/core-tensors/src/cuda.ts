/**
 * Test hooks for the CUDA kernels (host arrays in and out). `cuda.available()` is false when the addon is
 * missing, was built without CUDA, or sees no device; the wrappers throw in those cases.
 */
import { type AttentionArgs, type ComposeArgs, loadAddon } from './addon.js';

function addonOrUndefined() {
  try {
    return loadAddon();
  } catch {
    return undefined;
  }
}

export const cuda = {
  available(): boolean {
    const f = addonOrUndefined()?.features();
    return f?.cudaCompiled === true && f.cudaDevices > 0;
  },

  /** q [B,H,Tq,D], k/v [B,H,Tk,D] as flat arrays → out [B,H,Tq,D], lse [B,H,Tq]. */
  attentionForward(
    args: AttentionArgs,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
  ): { out: Float32Array; lse: Float32Array } {
    const out = new Float32Array(args.batch * args.heads * args.qLen * args.headDim);
    const lse = new Float32Array(args.batch * args.heads * args.qLen);
    loadAddon().cudaAttentionForward(args, q, k, v, out, lse);
    return { out, lse };
  },

  /** anchor/delta [rows, armDim], gripLogit/gripDelta [rows] → arm, prob, closed. */
  residualCompose(
    args: ComposeArgs,
    anchor: Float32Array,
    delta: Float32Array | null,
    gripLogit: Float32Array,
    gripDelta: Float32Array | null,
  ): { arm: Float32Array; prob: Float32Array; closed: Uint8Array } {
    const arm = new Float32Array(args.rows * args.armDim);
    const prob = new Float32Array(args.rows);
    const closed = new Uint8Array(args.rows);
    loadAddon().cudaResidualCompose(args, anchor, delta, gripLogit, gripDelta, arm, prob, closed);
    return { arm, prob, closed };
  },
};
