import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, type WriterOptions } from '../writer.js';

export async function tempDir(prefix = 'ds-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic image: smooth gradient whose offset encodes (episode, frame, camera). */
export function syntheticImage(h: number, w: number, ep: number, f: number, cam: number): Uint8Array {
  const img = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      img[o] = (x * 2 + f * 7 + cam * 40) & 255;
      img[o + 1] = (y * 2 + ep * 31) & 255;
      img[o + 2] = (cam * 100 + f * 3 + 20) & 255;
    }
  }
  return img;
}

/** action_t[j] = ep*100 + f + j/10; state = action − 0.5; gripper (last channel) ±1 closes at half the episode. */
export function syntheticAction(ep: number, f: number, len: number, dim: number): Float32Array {
  const a = new Float32Array(dim);
  for (let j = 0; j < dim - 1; j++) a[j] = ep * 100 + f + j / 10;
  a[dim - 1] = f >= len / 2 ? 1 : -1;
  return a;
}

export interface SyntheticSpec {
  episodes: number[];
  cameras?: number;
  size?: number;
  dim?: number;
  version?: 'v3.0' | 'v2.1';
  imageStorage?: 'parquet' | 'video';
  extra?: Partial<WriterOptions>;
  tasks?: string[];
}

export async function writeSynthetic(root: string, spec: SyntheticSpec): Promise<void> {
  const cams = spec.cameras ?? 2;
  const size = spec.size ?? 16;
  const dim = spec.dim ?? 4;
  const features: WriterOptions['features'] = {
    'observation.state': { dtype: 'float32', shape: [dim], names: null },
    action: { dtype: 'float32', shape: [dim], names: null },
  };
  const camNames = ['front', 'wrist', 'side'].slice(0, cams);
  for (const c of camNames) {
    features[`observation.images.${c}`] = {
      dtype: 'image',
      shape: [size, size, 3],
      names: ['height', 'width', 'channels'],
    };
  }
  const w = await DatasetWriter.create(root, {
    fps: 10,
    features,
    robotType: 'synthetic',
    version: spec.version,
    imageStorage: spec.imageStorage,
    ...spec.extra,
  });
  const tasks = spec.tasks ?? ['pick the cube', 'open the drawer'];
  for (let ep = 0; ep < spec.episodes.length; ep++) {
    const len = spec.episodes[ep];
    for (let f = 0; f < len; f++) {
      const action = syntheticAction(ep, f, len, dim);
      const state = action.map((v, j) => (j === dim - 1 ? (f > len / 2 ? 1 : -1) : v - 0.5));
      const frame: Record<string, Float32Array | Uint8Array> = { 'observation.state': state, action };
      camNames.forEach((c, ci) => {
        frame[`observation.images.${c}`] = syntheticImage(size, size, ep, f, ci);
      });
      w.addFrame(frame, tasks[ep % tasks.length]);
    }
    await w.saveEpisode();
  }
  await w.finalize();
}
