/**
 * The contracts every backbone meets (GR-1 now, X-VLA next): observation tensors in, the shared
 * multimodal context C out (Eq. 1), and trunks that read C through learnable query tokens (Eq. 3, 6).
 */
import type { Module } from '@anchor-refine/nn';
import type * as tf from '@tensorflow/tfjs';

/** One batch of observation histories as tensors (what `Backbone.encode` reads). */
export interface ObservationTensors {
  /** camera name → [B, L, Hi, Wi, 3] float32 in [0, 1] (RGB, HWC). */
  images: Record<string, tf.Tensor>;
  /** [B, L, S] float32, normalized proprioception without the gripper channel. */
  state: tf.Tensor;
  /** [B, L] float32 in {0, 1}, 1 = closed. */
  gripperState: tf.Tensor;
  /** [B, T] int32 instruction token ids (one instruction per sample). */
  language: tf.Tensor;
  /** [B, L] bool, true = real frame. Left-aligned: the current frame is the last true slot. */
  historyMask: tf.Tensor;
}

/** The shared context C of Eq. 1, per history slot. */
export interface Context {
  /** [B, L, N, d]: the N context tokens of every history slot (time embedding already added). */
  tokens: tf.Tensor;
  /** [B, L] bool, true = real frame. */
  historyMask: tf.Tensor;
}

/**
 * A transformer that reads a Context through query tokens and returns their outputs. Query tokens are
 * invisible to every other token, so the outputs for one query set never depend on another's.
 */
export interface QueryTrunk extends Module {
  readonly dim: number;
  /**
   * queries [H, d] (shared by all slots) or [B, L, H, d] (per slot, e.g. with injected anchor actions)
   * → [B, L, H, d], the read-out of every history slot.
   */
  forward(context: Context, queries: tf.Tensor): tf.Tensor;
}

/** A two-layer read-out with an arm head and a scalar head (GR-1's `pred_act_mlps` + two linears). */
export interface ReadoutHead extends Module {
  /** [..., d] → arm [..., armDim] and scalar [...] (gripper logit for the anchor, δ̂ for the refiner). */
  forward(features: tf.Tensor): { arm: tf.Tensor; scalar: tf.Tensor };
}

export interface TrunkOptions {
  depth: number;
  seed: number;
}

export interface HeadOptions {
  armDim: number;
  seed: number;
  /** Near-zero output layers (std 1e-3, zero bias): the refiner then starts at (almost exactly) the anchor. */
  zeroInitOutput?: boolean;
}

export interface EncodeOptions {
  /**
   * Inference in a control loop: the backbone may reuse encodings of inputs it has seen with the same
   * weights (GR-1: per-frame camera tokens and the instruction's token; its model.ts). Ignored in
   * training mode and under a gradient tape. Default false.
   */
  reuseEncodings?: boolean;
}

/** A VLA backbone: encoders E_v, E_l, E_s building C, and factories for its trunk and read-out head. */
export interface Backbone extends Module {
  readonly kind: string;
  /** Token width d of the context. */
  readonly dim: number;
  /** Observation history length L. */
  readonly history: number;
  readonly cameras: readonly string[];
  /** Eq. 1: observations → C. */
  encode(obs: ObservationTensors, opts?: EncodeOptions): Context;
  createTrunk(opts: TrunkOptions): QueryTrunk;
  createHead(opts: HeadOptions): ReadoutHead;
  /** Token ids for instructions, padded to the text context length: [texts.length, T] int32. */
  tokenize(texts: readonly string[]): tf.Tensor2D;
  /** Parameters that stay frozen in every phase (e.g. pretrained encoders). */
  frozenByDefault(): tf.Variable[];
}
