/**
 * Dataset loader benchmark: throughput of batch assembly (PNG decode, history/chunk gathering,
 * normalization) for a 2-camera 96×96 dataset with history 2 and horizon 10, in this thread and with
 * worker threads, all on the same generated dataset in the same run.
 *
 *   npx nx run datasets:bench                 (or: npm run bench -w @anchor-refine/datasets)
 *   ... -- --quick                            smaller dataset, fewer batches
 *   ... -- --json out.json                    also write the results as JSON
 *
 * The lead's policy-step ratio calls `measureLoaderThroughput(opts)` directly.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataLoader, DatasetWriter, openDataset, Sampler, type SamplerConfig } from '@anchor-refine/datasets';

export interface LoaderBenchOptions {
  /** episodes × frames per episode of the generated dataset */
  episodes?: number;
  episodeLength?: number;
  /** square camera size (px) */
  imageSize?: number;
  history?: number;
  horizon?: number;
  batchSize?: number;
  /** worker counts to measure; 0 = in-thread `Sampler.epoch` */
  workers?: number[];
  /** batches timed per mode (after 2 warm-up batches) */
  batches?: number;
  /** reuse an existing dataset instead of generating one */
  root?: string;
}

export interface LoaderBenchResult {
  mode: string;
  workers: number;
  batches: number;
  seconds: number;
  /** samples (one per batch row) per second */
  framesPerSec: number;
  batchesPerSec: number;
  /** decoded camera images per second (samples × history × cameras) */
  imagesPerSec: number;
}

export interface LoaderBenchReport {
  dataset: {
    root: string;
    frames: number;
    episodes: number;
    generateSeconds: number;
    cameras: number;
    imageSize: number;
  };
  config: { history: number; horizon: number; batchSize: number };
  results: LoaderBenchResult[];
}

/** Deterministic camera frame with some texture (gradient + hashed noise), so PNGs are not trivially small. */
function cameraFrame(size: number, ep: number, f: number, cam: number): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  let s = (ep * 7919 + f * 104729 + cam * 15485863) >>> 0 || 1;
  for (let i = 0; i < size * size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const noise = s & 15;
    const x = i % size;
    const y = (i / size) | 0;
    img[3 * i] = (x * 2 + f + noise) & 255;
    img[3 * i + 1] = (y * 2 + ep * 13 + noise) & 255;
    img[3 * i + 2] = (cam * 90 + ((x + y) >> 1) + noise) & 255;
  }
  return img;
}

async function generate(root: string, episodes: number, len: number, size: number): Promise<void> {
  const w = await DatasetWriter.create(root, {
    fps: 10,
    robotType: 'bench',
    features: {
      'observation.state': { dtype: 'float32', shape: [8] },
      action: { dtype: 'float32', shape: [7] },
      'observation.images.front': { dtype: 'image', shape: [size, size, 3] },
      'observation.images.wrist': { dtype: 'image', shape: [size, size, 3] },
    },
  });
  for (let ep = 0; ep < episodes; ep++) {
    for (let f = 0; f < len; f++) {
      const t = f / len;
      const action = Float32Array.from({ length: 7 }, (_, j) =>
        j === 6 ? (t > 0.5 ? 1 : -1) : Math.sin(t * 6 + j + ep),
      );
      const state = Float32Array.from({ length: 8 }, (_, j) => Math.cos(t * 6 + j + ep));
      w.addFrame(
        {
          'observation.state': state,
          action,
          'observation.images.front': cameraFrame(size, ep, f, 0),
          'observation.images.wrist': cameraFrame(size, ep, f, 1),
        },
        `task ${ep % 5}`,
      );
    }
    await w.saveEpisode();
  }
  await w.finalize();
}

/** Generates (or reuses) a dataset and measures batch throughput per worker count. */
export async function measureLoaderThroughput(opts: LoaderBenchOptions = {}): Promise<LoaderBenchReport> {
  const episodes = opts.episodes ?? 40;
  const len = opts.episodeLength ?? 100;
  const size = opts.imageSize ?? 96;
  const history = opts.history ?? 2;
  const horizon = opts.horizon ?? 10;
  const batchSize = opts.batchSize ?? 32;
  const batches = opts.batches ?? 40;
  const tmp = opts.root ? null : await mkdtemp(join(tmpdir(), 'bench-datasets-'));
  const root = opts.root ?? join(tmp as string, 'ds');
  try {
    let generateSeconds = 0;
    if (!opts.root) {
      const t0 = performance.now();
      await generate(root, episodes, len, size);
      generateSeconds = (performance.now() - t0) / 1000;
    }
    const ds = await openDataset(root);
    const config: SamplerConfig = {
      history,
      horizon,
      cameras: { 'observation.images.front': 'front', 'observation.images.wrist': 'wrist' },
      gripper: { actionIndex: 6, convention: 'closed-positive' },
      normalization: { default: 'mean_std' },
      split: { valFraction: 0.1 },
      seed: 0,
      batchSize,
      dropLast: true,
    };
    const results: LoaderBenchResult[] = [];
    for (const workers of opts.workers ?? [0, 1, 2]) {
      const loader = workers > 0 ? await DataLoader.create(root, config, { workers }) : null;
      const sampler = new Sampler(ds, config);
      const iter = loader ? loader.epoch('train', 0) : sampler.epoch('train', 0);
      let n = 0;
      let t0 = 0;
      for await (const b of iter) {
        void b;
        n++;
        if (n === 2) t0 = performance.now(); // 2 warm-up batches (worker start, JIT)
        if (n === batches + 2) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const timed = n - 2;
      await loader?.close();
      results.push({
        mode: workers > 0 ? `DataLoader workers=${workers}` : 'in-thread Sampler',
        workers,
        batches: timed,
        seconds,
        framesPerSec: (timed * batchSize) / seconds,
        batchesPerSec: timed / seconds,
        imagesPerSec: (timed * batchSize * history * 2) / seconds,
      });
    }
    return {
      dataset: {
        root,
        frames: ds.numFrames,
        episodes: ds.episodes.length,
        generateSeconds,
        cameras: 2,
        imageSize: size,
      },
      config: { history, horizon, batchSize },
      results,
    };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const report = await measureLoaderThroughput(quick ? { episodes: 8, episodeLength: 60, batches: 10 } : {});
  const d = report.dataset;
  console.log(
    `dataset: ${d.episodes} episodes, ${d.frames} frames, ${d.cameras} cameras ${d.imageSize}x${d.imageSize} PNG-in-parquet ` +
      `(generated by DatasetWriter in ${d.generateSeconds.toFixed(1)} s = ${(d.frames / d.generateSeconds).toFixed(0)} frames/s written)`,
  );
  console.log(
    `batch: B=${report.config.batchSize}, history L=${report.config.history}, horizon H=${report.config.horizon}`,
  );
  console.log('mode                        frames/s   batches/s   images/s');
  for (const r of report.results) {
    console.log(
      `${r.mode.padEnd(26)} ${r.framesPerSec.toFixed(0).padStart(9)} ${r.batchesPerSec.toFixed(2).padStart(11)} ${r.imagesPerSec
        .toFixed(0)
        .padStart(10)}`,
    );
  }
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(report, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
