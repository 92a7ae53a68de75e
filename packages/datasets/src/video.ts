import { spawn, spawnSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { DatasetError } from './errors.js';

let ffmpegChecked: boolean | undefined;

/** True when an `ffmpeg` binary is on the PATH (checked once per process). */
export function ffmpegAvailable(): boolean {
  if (ffmpegChecked === undefined) {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
    ffmpegChecked = r.status === 0;
  }
  return ffmpegChecked;
}

export const FFMPEG_MISSING =
  'ffmpeg is not on the PATH; video features need it (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: ' +
  '`brew install ffmpeg`; AV1 decoding needs a build with libdav1d or libaom, which both ship)';

export function requireFfmpeg(file: string, field: string): void {
  if (!ffmpegAvailable()) throw new DatasetError(file, field, FFMPEG_MISSING);
}

function run(args: string[], input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout?.on('data', (d: Buffer) => out.push(d));
    p.stderr?.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(new Error(`ffmpeg exited with ${code}: ${Buffer.concat(err).toString().trim().slice(-800)}`));
    });
    if (input && p.stdin) {
      p.stdin.on('error', () => {});
      p.stdin.end(input);
    }
  });
}

/** Encoder settings; defaults are LeRobot's (`libsvtav1`, yuv420p, g=2, crf=30, preset 12). */
export interface VideoEncoding {
  /** ffmpeg encoder name; `libsvtav1` is LeRobot's default (AV1 in MP4). */
  codec: string;
  pixFmt: string;
  /** keyframe interval; 2 makes random access cheap at a size cost (LeRobot default) */
  gop: number;
  crf: number;
  /** svt-av1 preset 12 = fastest (LeRobot default); ignored by other encoders */
  preset?: number;
}

export const DEFAULT_VIDEO_ENCODING: VideoEncoding = {
  codec: 'libsvtav1',
  pixFmt: 'yuv420p',
  gop: 2,
  crf: 30,
  preset: 12,
};

/** Short codec name for info.json (`video.codec`), e.g. libsvtav1 → av1. */
export function codecName(encoder: string): string {
  if (encoder.includes('av1')) return 'av1';
  if (encoder.includes('264')) return 'h264';
  if (encoder.includes('265') || encoder.includes('hevc')) return 'hevc';
  if (encoder.includes('vp9')) return 'vp9';
  return encoder;
}

/** Encodes raw HWC RGB frames (concatenated) to an mp4, atomically (temp + rename). */
export async function encodeVideo(
  rawFrames: Uint8Array | string,
  width: number,
  height: number,
  fps: number,
  outPath: string,
  enc: VideoEncoding = DEFAULT_VIDEO_ENCODING,
): Promise<void> {
  const tmp = `${outPath}.tmp.mp4`;
  const input = typeof rawFrames === 'string' ? rawFrames : 'pipe:0';
  const args = ['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps)];
  args.push(
    '-i',
    input,
    '-c:v',
    enc.codec,
    '-pix_fmt',
    enc.pixFmt,
    '-g',
    String(enc.gop),
    '-crf',
    String(enc.crf),
  );
  if (enc.codec === 'libsvtav1' && enc.preset !== undefined) args.push('-preset', String(enc.preset));
  args.push('-movflags', '+faststart', tmp);
  await run(args, typeof rawFrames === 'string' ? undefined : rawFrames);
  await rename(tmp, outPath);
}

/** Concatenates mp4 segments with the concat demuxer in stream-copy mode (no re-encode), as LeRobot v3 does. */
export async function concatVideos(inputs: string[], outPath: string): Promise<void> {
  const list = `${outPath}.list.txt`;
  await writeFile(list, inputs.map((p) => `file '${p.replaceAll("'", "'\\''")}'`).join('\n'));
  const tmp = `${outPath}.tmp.mp4`;
  await run(['-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', tmp]);
  await rename(tmp, outPath);
}

/** Counters of this process's video decoding (ffmpeg runs and frames delivered), for tests and benchmarks. */
export const videoDecodeStats = { processes: 0, frames: 0 };

/** `count` consecutive frames of one video file from the frame whose timestamp is `fromTs` (seconds). */
export interface VideoSegment {
  path: string;
  /** path relative to the dataset root, for errors */
  relPath: string;
  fromTs: number;
  count: number;
}

/**
 * Decodes several segments (of one or several files) in ONE ffmpeg run, scaled to `width`×`height`, as
 * concatenated HWC RGB per segment. Starting ffmpeg costs far more than decoding a few frames, so cache
 * misses of a batch share one process. Each segment is an input with its own input seek: ffmpeg jumps to
 * the nearest keyframe at or before the seek point and decodes forward, discarding the frames before it
 * (accurate seek). The seek point is half a frame early, so a segment starts at the frame nearest to
 * `fromTs` even when float rounding puts `fromTs` a hair after its pts. Fewer frames than asked is an
 * error naming the file(s).
 */
export async function decodeVideoSegments(
  segments: readonly VideoSegment[],
  field: string,
  fps: number,
  width: number,
  height: number,
): Promise<Uint8Array[]> {
  const names = [...new Set(segments.map((s) => s.relPath))].join(', ');
  for (const s of segments) requireFfmpeg(s.relPath, field);
  const args: string[] = [];
  const chains: string[] = [];
  segments.forEach((s, k) => {
    args.push('-ss', Math.max(0, s.fromTs - 0.5 / fps).toFixed(6), '-i', s.path);
    chains.push(
      `[${k}:v:0]trim=end_frame=${s.count},setpts=PTS-STARTPTS,scale=${width}:${height}:flags=bilinear,setsar=1[v${k}]`,
    );
  });
  const inputs = segments.map((_, k) => `[v${k}]`).join('');
  const graph = `${chains.join(';')};${inputs}concat=n=${segments.length}:v=1:a=0[out]`;
  args.push('-filter_complex', graph, '-map', '[out]', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  let out: Buffer;
  videoDecodeStats.processes += 1;
  try {
    out = await run(args);
  } catch (e) {
    throw new DatasetError(names, field, `cannot decode video: ${(e as Error).message}`);
  }
  const frameBytes = width * height * 3;
  const want = segments.reduce((n, s) => n + s.count, 0);
  videoDecodeStats.frames += Math.floor(out.length / frameBytes);
  if (out.length !== want * frameBytes) {
    const where = segments.map((s) => `${s.count} from t=${s.fromTs.toFixed(4)} s`).join(', ');
    throw new DatasetError(
      names,
      field,
      `expected ${want} frames (${where}) but the video yielded ${Math.floor(out.length / frameBytes)}`,
    );
  }
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
  let off = 0;
  return segments.map((s) => {
    const part = bytes.subarray(off, off + s.count * frameBytes);
    off += s.count * frameBytes;
    return part;
  });
}

/** One segment: `count` frames from `fromTs` (see decodeVideoSegments). */
export async function decodeVideoFrames(
  path: string,
  relPath: string,
  field: string,
  fromTs: number,
  count: number,
  fps: number,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const [out] = await decodeVideoSegments([{ path, relPath, fromTs, count }], field, fps, width, height);
  return out as Uint8Array;
}
