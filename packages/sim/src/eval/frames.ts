import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import type { Image } from '../env/types.js';
import type { FrameSink } from './episode.js';

/** Writes front | wrist side by side as one PNG per step under dir/<task>/<seed>/. */
export function pngFrameSink(dir: string, task: string, seed: number): FrameSink {
  const out = join(dir, task, String(seed));
  mkdirSync(out, { recursive: true });
  return (step: number, front: Image, wrist: Image) => {
    if (front.width === 0) return undefined;
    const H = Math.max(front.height, wrist.height);
    const W = front.width + wrist.width;
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      if (y < front.height)
        data.set(front.data.subarray(y * front.width * 3, (y + 1) * front.width * 3), y * W * 3);
      if (y < wrist.height)
        data.set(
          wrist.data.subarray(y * wrist.width * 3, (y + 1) * wrist.width * 3),
          (y * W + front.width) * 3,
        );
    }
    const file = join(out, `step_${String(step).padStart(4, '0')}.png`);
    writeFileSync(file, encode({ width: W, height: H, data, channels: 3 }));
    return file;
  };
}
