/**
 * Video-backed dataset loader benchmark (issue 15 item 12): a 2-camera LeRobot v3.0 dataset with mp4
 * cameras (default: 640×480 at 30 fps, AV1 as LeRobot writes it; `--codec h264` for long-GOP H.264 as
 * many published datasets use) read the way training reads it.
 *
 *   node --conditions=@anchor-refine/source --import tsx tools/bench/video-loader.ts [--quick]
 *        [--codec av1|h264] [--json out.json]
 *
 * Measures, on the same dataset in one run:
 *  - latency of getFrame(0) and getFrame(1) on a freshly opened dataset (the symptom);
 *  - sequential decode throughput of one camera's episode at 96, 160 and 224 px (frames/s);
 *  - Sampler throughput (samples/s) with the `small` preset's shapes (2 cameras 96×96, history 2,
 *    horizon 10, batch 8) over shuffled batches: the first pass (cold cache) and a second pass;
 *  - the samples/s a `small` phase-1 train step consumes, as the peer (pass --step-sps to override the
 *    value measured by tools/bench/policy.ts).
 * The generated dataset is kept in the OS temp folder and reused by later runs with the same shape.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DatasetWriter,
  type LeRobotDataset,
  openDataset,
  Sampler,
  type SamplerConfig,
} from '@anchor-refine/datasets';

interface Options {
  episodes: number;
  length: number;
  width: number;
  height: number;
  fps: number;
  codec: 'av1' | 'h264';
  batches: number;
}

const CAMS = ['observation.images.front', 'observation.images.wrist'];

/** A camera-like frame: smooth moving gradients and a moving square, plus a little noise. */
function frame(o: Options, ep: number, f: number, cam: number): Uint8Array {
  const { width: w, height: h } = o;
  const img = new Uint8Array(w * h * 3);
  const cx = (f * 4 + ep * 50 + cam * 120) % w;
  const cy = (h / 2 + Math.sin(f / 10 + ep) * h * 0.3) | 0;
  let s = (ep * 7919 + f * 104729 + cam * 15485863) >>> 0 || 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const i = 3 * (y * w + x);
      const inBox = Math.abs(x - cx) < 40 && Math.abs(y - cy) < 40;
      img[i] = inBox ? 230 : (x / 3 + f + (s & 7)) & 255;
      img[i + 1] = inBox ? 40 : (y / 2 + ep * 20 + (s & 7)) & 255;
      img[i + 2] = (cam * 80 + ((x + y) >> 3) + (s & 7)) & 255;
    }
  }
  return img;
}

async function generate(root: string, o: Options): Promise<void> {
  const video =
    o.codec === 'h264'
      ? { codec: 'libx264', pixFmt: 'yuv420p', gop: 60, crf: 23 }
      : { codec: 'libsvtav1', pixFmt: 'yuv420p', gop: 2, crf: 30, preset: 12 };
  const features: Record<string, { dtype: 'float32' | 'image'; shape: number[] }> = {
    'observation.state': { dtype: 'float32', shape: [6] },
    action: { dtype: 'float32', shape: [6] },
  };
  for (const c of CAMS) features[c] = { dtype: 'image', shape: [o.height, o.width, 3] };
  const w = await DatasetWriter.create(root, { fps: o.fps, imageStorage: 'video', video, features });
  for (let ep = 0; ep < o.episodes; ep++) {
    for (let f = 0; f < o.length; f++) {
      const t = f / o.length;
      const row: Record<string, Float32Array | Uint8Array> = {
        'observation.state': Float32Array.from({ length: 6 }, (_, j) => Math.cos(t * 6 + j + ep)),
        action: Float32Array.from({ length: 6 }, (_, j) =>
          j === 5 ? (t > 0.5 ? 1 : 0) : Math.sin(t * 6 + j),
        ),
      };
      CAMS.forEach((c, k) => {
        row[c] = frame(o, ep, f, k);
      });
      w.addFrame(row, `task ${ep % 3}`);
    }
    await w.saveEpisode();
  }
  await w.finalize();
}

const ms = (t0: number) => performance.now() - t0;

/** CPU seconds of this process plus its finished children (ffmpeg), from /proc (Linux; 0 elsewhere). */
function cpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 (utime, stime, cutime, cstime) are at 11-14 after the command name
    const ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0);
    return ticks / 100;
  } catch {
    return 0;
  }
}

/** Wall time and CPU time (self + ffmpeg children) of `fn`. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  return { value, wall: ms(t0) / 1000, cpu: cpuSeconds() - c0 };
}

async function timeGetFrames(root: string): Promise<number[]> {
  const ds = await openDataset(root);
  const out: number[] = [];
  for (const i of [0, 1]) {
    const t0 = performance.now();
    await ds.getFrame(i);
    out.push(ms(t0));
  }
  return out;
}

type ImagesWithSize = (
  key: string,
  indices: readonly number[],
  opts?: { size?: [number, number] },
) => Promise<{ height: number; width: number }[]>;

async function sequentialFps(
  root: string,
  size: number,
): Promise<{ fps: number; cpuFps: number; got: string }> {
  const ds = await openDataset(root);
  const ep = ds.episodes[0];
  const idx = Array.from({ length: ep.length }, (_, f) => ep.from + f);
  const images = ds.images.bind(ds) as unknown as ImagesWithSize;
  const m = await measure(() => images(CAMS[0], idx, { size: [size, size] }));
  const got = m.value[0];
  return { fps: idx.length / m.wall, cpuFps: idx.length / m.cpu, got: `${got?.width}x${got?.height}` };
}

function samplerConfig(): SamplerConfig {
  return {
    history: 2,
    horizon: 10,
    cameras: { [CAMS[0]]: 'front', [CAMS[1]]: 'wrist' },
    gripper: { actionIndex: 5, convention: 'closed-positive' },
    normalization: { default: 'mean_std' },
    split: { valFraction: 0 },
    seed: 0,
    batchSize: 8,
    imageSize: [96, 96],
    dropLast: true,
  };
}

async function samplerSps(
  ds: LeRobotDataset,
  epoch: number,
  batches: number,
): Promise<{ sps: number; cpuSps: number }> {
  const sampler = new Sampler(ds, samplerConfig());
  const list = sampler.epochBatches('train', epoch).slice(0, batches);
  const m = await measure(async () => {
    for (const b of list) await sampler.batch(b);
  });
  return { sps: (list.length * 8) / m.wall, cpuSps: (list.length * 8) / m.cpu };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const quick = argv.includes('--quick');
  const o: Options = {
    episodes: quick ? 3 : 6,
    length: quick ? 120 : 240,
    width: 640,
    height: 480,
    fps: 30,
    codec: arg('--codec') === 'h264' ? 'h264' : 'av1',
    batches: quick ? 15 : 40,
  };
  const stepSps = Number(arg('--step-sps') ?? 23.9);
  const root = join(
    tmpdir(),
    `anchor-refine-bench-video-${o.codec}-${o.width}x${o.height}-${o.episodes}x${o.length}`,
  );
  if (!existsSync(join(root, 'meta', 'info.json'))) {
    await rm(root, { recursive: true, force: true });
    const t0 = performance.now();
    await generate(root, o);
    console.log(`generated ${root} in ${(ms(t0) / 1000).toFixed(1)} s`);
  }
  console.log(
    `dataset: ${o.episodes} episodes × ${o.length} frames, 2 cameras ${o.width}×${o.height} ${o.codec} mp4 at ${o.fps} fps; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? '?'})`,
  );
  const [g0, g1] = await timeGetFrames(root);
  console.log(`fresh dataset: getFrame(0) ${g0.toFixed(0)} ms, getFrame(1) ${g1.toFixed(0)} ms`);
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(
    `load average ${load()} (on a shared machine wall-clock rates understate; "per CPU-s" counts this process + ffmpeg)`,
  );
  const seq: Record<string, { fps: number; cpuFps: number }> = {};
  for (const size of [96, 160, 224]) {
    const r = await sequentialFps(root, size);
    seq[size] = r;
    console.log(
      `sequential decode, one camera's episode, asked ${size}px (got ${r.got}): ${r.fps.toFixed(0)} frames/s wall, ` +
        `${r.cpuFps.toFixed(0)} frames per CPU-s (≈ ${(2 * r.cpuFps).toFixed(0)} frames/s on 2 free cores)`,
    );
  }
  const ds = await openDataset(root);
  const cold = await samplerSps(ds, 0, o.batches);
  const warm = await samplerSps(ds, 1, o.batches);
  console.log(
    `Sampler (small: 2 cams 96×96, history 2, H 10, batch 8, shuffled), ${o.batches} batches: first pass ` +
      `${cold.sps.toFixed(1)} samples/s wall (${cold.cpuSps.toFixed(1)} per CPU-s, ≈ ${(2 * cold.cpuSps).toFixed(1)} on 2 free cores), ` +
      `second pass ${warm.sps.toFixed(1)} samples/s; a small phase-1 step consumes ${stepSps} samples/s`,
  );
  // Worst case for a dataset much larger than the cache: every fetch misses (one seek + block decode each),
  // asked one at a time, then 16 at a time (as one batch's misses are: they share one ffmpeg run).
  const per = 32; // the loader's block at 96 px (video-frames.ts MAX_BLOCK)
  const frames = (n: number) =>
    Array.from(
      { length: Math.min(n, Math.floor((o.episodes * o.length) / per)) },
      (_, k) => k * per + ((k * 7) % per),
    );
  const single = await openDataset(root);
  const one = frames(24);
  const m1 = await measure(async () => {
    for (const i of one) await single.images(CAMS[0] as string, [i], { size: [96, 96] });
  });
  const batched = await openDataset(root);
  const many = frames(48);
  const m16 = await measure(async () => {
    for (let k = 0; k < many.length; k += 16)
      await batched.images(CAMS[0] as string, many.slice(k, k + 16), { size: [96, 96] });
  });
  const miss = {
    single: { wall: one.length / m1.wall, perCpuSecond: one.length / m1.cpu },
    batch16: { wall: many.length / m16.wall, perCpuSecond: many.length / m16.cpu },
  };
  console.log(
    `every fetch a cache miss (frames in distinct blocks, one camera, 96 px): one at a time ${miss.single.wall.toFixed(1)} ` +
      `fetches/s wall (${miss.single.perCpuSecond.toFixed(1)} per CPU-s); 16 per call ${miss.batch16.wall.toFixed(1)} fetches/s wall ` +
      `(${miss.batch16.perCpuSecond.toFixed(1)} per CPU-s ≈ ${miss.batch16.perCpuSecond.toFixed(1)} samples/s of 2 cameras on 2 free cores)`,
  );
  console.log(`load average at the end ${load()}`);
  const json = arg('--json');
  if (json) {
    await writeFile(
      json,
      JSON.stringify(
        {
          options: o,
          getFrameMs: [g0, g1],
          sequentialFps: seq,
          samplerSps: { cold, warm },
          missFetchesPerSec: miss,
          stepSps,
        },
        null,
        2,
      ),
    );
  }
}

await main();
