/**
 * Progress (loss, steps/s, ETA): a cli-progress bar on a terminal; when stderr is piped (CI logs) one
 * plain line every 10 s instead.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(value: number, payload: { loss: string; rate: string }): void;
  stop(): void;
}

export function progressBar(label: string, total: number, start: number, enabled: boolean): Progress {
  if (!enabled) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = 0;
    const t0 = performance.now();
    return {
      update(value, p) {
        const now = performance.now();
        if (now - last < 10_000 && value < total) return;
        last = now;
        const rate = (value - start) / Math.max(1e-9, (now - t0) / 1000);
        const eta = rate > 0 ? Math.round((total - value) / rate) : 0;
        process.stderr.write(
          `${label} ${value}/${total} | loss ${p.loss} | ${p.rate} steps/s | ETA ${eta}s\n`,
        );
      },
      stop() {},
    };
  }
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}`,
    hideCursor: true,
    etaBuffer: 50,
  });
  bar.start(total, start, { loss: '—', rate: '—' });
  let stopped = false;
  return {
    update: (v, p) => bar.update(v, p),
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}
