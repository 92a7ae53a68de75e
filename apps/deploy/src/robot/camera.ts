/**
 * V4L2 cameras through ffmpeg: one `ffmpeg -f v4l2` process per camera decodes (MJPG by default, see the
 * research notes on USB bandwidth) and scales to the policy's image size; the newest frame is kept.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import type { RobotImage } from './robot.js';

export interface CameraConfig {
  name: string;
  /** e.g. /dev/video0 */
  device: string;
  width?: number;
  height?: number;
  fps?: number;
  /** ffmpeg `-input_format` (default mjpeg) */
  inputFormat?: string;
  /** output side (square), normally the policy's image size */
  outputSize: number;
}

export class FfmpegCamera {
  private proc: ChildProcess | null = null;
  private latest: RobotImage | null = null;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly frameBytes: number;
  frames = 0;
  lastError: string | null = null;

  constructor(readonly config: CameraConfig) {
    if (!Number.isInteger(config.outputSize) || config.outputSize <= 0)
      throw new Error(`camera ${config.name}: outputSize must be a positive integer`);
    this.frameBytes = config.outputSize * config.outputSize * 3;
  }

  start(): void {
    const c = this.config;
    const s = c.outputSize;
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'v4l2',
      '-input_format',
      c.inputFormat ?? 'mjpeg',
      '-video_size',
      `${c.width ?? 640}x${c.height ?? 480}`,
      '-framerate',
      String(c.fps ?? 30),
      '-i',
      c.device,
      '-vf',
      `scale=${s}:${s}`,
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      '-',
    ];
    const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      this.lastError = d.toString().trim();
    });
    proc.on('error', (err) => {
      this.lastError = err.message;
    });
    proc.stdout?.on('data', (d: Buffer) => this.onData(d));
  }

  private onData(d: Buffer): void {
    this.partial.push(d);
    this.partialBytes += d.length;
    while (this.partialBytes >= this.frameBytes) {
      const all = Buffer.concat(this.partial);
      const s = this.config.outputSize;
      this.latest = { data: new Uint8Array(all.subarray(0, this.frameBytes)), height: s, width: s };
      this.frames++;
      const rest = all.subarray(this.frameBytes);
      this.partial = rest.length ? [rest] : [];
      this.partialBytes = rest.length;
    }
  }

  /** Waits for the first frame (up to `timeoutMs`). */
  async waitReady(timeoutMs = 5000): Promise<void> {
    const t0 = Date.now();
    while (!this.latest) {
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `camera ${this.config.name} (${this.config.device}): no frame in ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  read(): RobotImage {
    if (!this.latest) throw new Error(`camera ${this.config.name}: no frame yet`);
    return this.latest;
  }

  stop(): void {
    this.proc?.kill('SIGTERM');
    this.proc = null;
  }
}
