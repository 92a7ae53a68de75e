/**
 * Image augmentation for training batches: random shifts (DrQ / Diffusion Policy's random crop). Each
 * sample's image is padded by `pad` pixels on every side with its edge pixels and cropped back to its
 * size at a random offset in [0, 2·pad]², so objects move by up to ±pad pixels. One offset per (sample,
 * camera), shared by all history frames of that sample, so motion between frames is untouched.
 * Deterministic: a sample's offsets are a pure function of the seed (the caller derives it from the run
 * seed, phase and step), the sample's episode and frame, and the camera — not of its position in the
 * batch — so a resumed run, and a data-parallel rank holding a shard of the batch, shift it the same way.
 */
import { mulberry32 as rng, type SampleBatch } from '@anchor-refine/datasets';

export interface ShiftAugment {
  /** Max shift in pixels (0 = off). */
  pad: number;
}

/**
 * Shifts one HWC uint8 image by (dy, dx) with edge replication: out[y][x] = in[clamp(y + dy)][clamp(x + dx)].
 * Written into `out` (same size as `src`).
 */
export function shiftImage(
  src: Uint8Array,
  out: Uint8Array,
  h: number,
  w: number,
  dy: number,
  dx: number,
): void {
  const row = w * 3;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(h - 1, Math.max(0, y + dy));
    const so = sy * row;
    const oo = y * row;
    // Interior: one contiguous copy; edges: replicate the first/last source pixel.
    const x0 = Math.max(0, -dx); // first x whose source column is inside
    const x1 = Math.min(w, w - dx); // one past the last such x
    for (let x = 0; x < x0; x++) {
      out[oo + 3 * x] = src[so];
      out[oo + 3 * x + 1] = src[so + 1];
      out[oo + 3 * x + 2] = src[so + 2];
    }
    if (x1 > x0) out.set(src.subarray(so + 3 * (x0 + dx), so + 3 * (x1 + dx)), oo + 3 * x0);
    const last = so + 3 * (w - 1);
    for (let x = Math.max(x0, x1); x < w; x++) {
      out[oo + 3 * x] = src[last];
      out[oo + 3 * x + 1] = src[last + 1];
      out[oo + 3 * x + 2] = src[last + 2];
    }
  }
}

/**
 * Returns a batch whose images are randomly shifted (new arrays; the input batch is not modified). A
 * sample's future frames (`futureImages`, the video target) move with its observed frames.
 */
export function augmentBatch(batch: SampleBatch, aug: ShiftAugment, seed: number): SampleBatch {
  if (aug.pad <= 0) return batch;
  const images: SampleBatch['images'] = {};
  const future: SampleBatch['images'] = {};
  let cam = 0;
  for (const [name, img] of Object.entries(batch.images)) {
    cam++;
    const [B, L, h, w, c] = img.shape; // [B, L, H, W, 3]
    if (c !== 3) throw new Error(`augmentBatch: camera '${name}' has ${c} channels; expected 3 (HWC RGB)`);
    const per = h * w * 3;
    const fut = batch.futureImages?.[name];
    const data = new Uint8Array(img.data.length);
    const futData = fut ? new Uint8Array(fut.data.length) : undefined;
    for (let b = 0; b < B; b++) {
      const next = rng(
        Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^
          Math.imul(batch.episodeIndex[b] + 1, 0xc2b2ae35) ^
          Math.imul(batch.frameIndex[b] + 1, 0x27d4eb2f) ^
          Math.imul(cam, 0x165667b1),
      );
      const dy = Math.floor(next() * (2 * aug.pad + 1)) - aug.pad;
      const dx = Math.floor(next() * (2 * aug.pad + 1)) - aug.pad;
      for (let l = 0; l < L; l++) {
        const o = (b * L + l) * per;
        shiftImage(img.data.subarray(o, o + per), data.subarray(o, o + per), h, w, dy, dx);
        if (fut && futData)
          shiftImage(fut.data.subarray(o, o + per), futData.subarray(o, o + per), h, w, dy, dx);
      }
    }
    images[name] = { data, shape: img.shape };
    if (fut && futData) future[name] = { data: futData, shape: fut.shape };
  }
  return { ...batch, images, ...(batch.futureImages ? { futureImages: future } : {}) };
}

/**
 * Proprioception dropout: each sample's arm state (every history slot) is replaced, with probability
 * `p`, by zeros — the dataset mean, since the state is already normalized. A policy that sees its own
 * arm can copy the demo's motion from the arm alone once it is under way (the "copycat" shortcut) and
 * never learns to find the object in the image; dropping the state on some samples forces the image
 * pathway to carry the object's position. Inference always sees the state. Deterministic per (seed,
 * episode, frame), like the shifts. Returns a new batch; the input is not modified.
 */
export function dropState(batch: SampleBatch, p: number, seed: number): SampleBatch {
  if (p <= 0) return batch;
  const [B, L, S] = batch.state.shape; // [B, L, S]
  const data = Float32Array.from(batch.state.data);
  for (let b = 0; b < B; b++) {
    const next = rng(
      Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^
        Math.imul(batch.episodeIndex[b] + 1, 0x85ebca77) ^
        Math.imul(batch.frameIndex[b] + 1, 0xc2b2ae3d),
    );
    if (next() < p) data.fill(0, b * L * S, (b + 1) * L * S);
  }
  return { ...batch, state: { data, shape: batch.state.shape } };
}
