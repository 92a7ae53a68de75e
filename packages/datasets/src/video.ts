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

/**
 * Decodes `count` frames starting at the frame whose timestamp is `fromTs` (seconds) to concatenated HWC RGB.
 * The seek point is half a frame early, so the first frame returned is the one nearest to `fromTs` even when
 * float rounding puts `fromTs` a hair after its pts. Fewer frames than asked is an error naming the file.
 */
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
  requireFfmpeg(relPath, field);
  const ss = Math.max(0, fromTs - 0.5 / fps);
  let out: Buffer;
  try {
    out = await run([
      '-ss',
      ss.toFixed(6),
      '-i',
      path,
      '-frames:v',
      String(count),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      'pipe:1',
    ]);
  } catch (e) {
    throw new DatasetError(relPath, field, `cannot decode video: ${(e as Error).message}`);
  }
  const frameBytes = width * height * 3;
  if (out.length !== count * frameBytes) {
    throw new DatasetError(
      relPath,
      field,
      `expected ${count} frames from t=${fromTs.toFixed(4)} s but the video yielded ${Math.floor(out.length / frameBytes)}`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
