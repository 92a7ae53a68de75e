/**
 * The refiner's own view of the cameras (option `refine.vision`): a pixel-cell keypoint encoder trained
 * in phase 2 only, so the fine correction can read object positions at a resolution the frozen context
 * does not keep. Per camera and history slot:
 *
 *   cells (c×c px, g = S/c per side) → MLP (GELU) per cell → spatial softmax → K expected cell
 *   coordinates (x, y) ∈ [−1, 1]² → Linear(2K → d): one token appended to that slot's context tokens.
 *
 * Each camera has its own encoder (the front and wrist views see different things).
 */
import { SpatialSoftmax } from '@anchor-refine/backbones';
import { gelu, Linear, Module, type Rng } from '@anchor-refine/nn';
import * as tf from '@tensorflow/tfjs';

export interface RefinerVisionConfig {
  /** Keypoints per camera (K). */
  keypoints: number;
  /** Cell size in pixels (c); must divide the image size. */
  cell: number;
  /** Width of the per-cell MLP. */
  width: number;
}

class CameraKeypoints extends Module {
  readonly cell_in: Linear;
  readonly cell_hidden: Linear;
  readonly keypoints: SpatialSoftmax;
  readonly embed: Linear;

  constructor(
    readonly imageSize: number,
    readonly cfg: RefinerVisionConfig,
    dim: number,
    rng: Rng,
  ) {
    super();
    const { cell, width, keypoints } = cfg;
    this.cell_in = this.registerModule('cell_in', new Linear(cell * cell * 3, width, { rng }));
    this.cell_hidden = this.registerModule('cell_hidden', new Linear(width, width, { rng }));
    this.keypoints = this.registerModule(
      'keypoints',
      new SpatialSoftmax(width, keypoints, imageSize / cell, rng),
    );
    this.embed = this.registerModule('embed', new Linear(2 * keypoints, dim, { rng }));
  }

  /** images [N, S, S, 3] → tokens [N, d]. */
  forward(images: tf.Tensor): tf.Tensor {
    const s = this.imageSize;
    const c = this.cfg.cell;
    const g = s / c;
    const [n] = images.shape;
    if (images.rank !== 4 || images.shape[1] !== s || images.shape[2] !== s || images.shape[3] !== 3)
      throw new Error(`RefinerVision: images must be [N, ${s}, ${s}, 3], got [${images.shape.join(', ')}]`);
    return tf.tidy(() => {
      const blocks = tf.reshape(images, [n, g, c, g, c, 3]); // [N, gy, cy, gx, cx, 3]
      const cells = tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [n, g * g, c * c * 3]); // [N, P, c·c·3]
      const h = gelu(this.cell_hidden.forward(gelu(this.cell_in.forward(cells)))); // [N, P, width]
      return this.embed.forward(this.keypoints.forward(h)); // [N, 2K] → [N, d]
    });
  }
}

export class RefinerVision extends Module {
  readonly cams: CameraKeypoints[];

  constructor(
    readonly cameras: readonly string[],
    imageSize: number,
    readonly config: RefinerVisionConfig,
    dim: number,
    rng: Rng,
  ) {
    super();
    validateRefinerVision(config, imageSize);
    if (cameras.length === 0) throw new Error('RefinerVision: needs at least one camera');
    this.cams = cameras.map((_, i) =>
      this.registerModule(`cam${i}`, new CameraKeypoints(imageSize, config, dim, rng)),
    );
  }

  /** camera → [B, L, S, S, 3] → [B, L, V, d] (V = cameras, in the backbone's camera order). */
  forward(images: Record<string, tf.Tensor>): tf.Tensor {
    return tf.tidy(() => {
      const tokens = this.cameras.map((cam, i) => {
        const x = images[cam];
        if (!x) throw new Error(`RefinerVision: missing camera '${cam}'`);
        const [b, l, s] = x.shape;
        const t = this.cams[i].forward(tf.reshape(x, [b * l, s, s, 3])); // [B·L, d]
        return tf.reshape(t, [b, l, 1, t.shape[1] ?? 0]); // [B, L, 1, d]
      });
      return tokens.length === 1 ? tokens[0] : tf.concat(tokens, 2); // [B, L, V, d]
    });
  }
}

/** Throws naming the field (as `refine.vision.<field>`) when a config cannot work at this image size. */
export function validateRefinerVision(cfg: RefinerVisionConfig, imageSize: number): void {
  for (const k of ['keypoints', 'cell', 'width'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(
        `policy config: refine.vision.${k} must be a positive integer, got ${JSON.stringify(v)}`,
      );
  }
  if (imageSize % cfg.cell !== 0)
    throw new Error(
      `policy config: refine.vision.cell ${cfg.cell} must divide the image size ${imageSize} (e.g. 4 for 96 px)`,
    );
}
