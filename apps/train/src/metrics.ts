/** Metrics as JSON lines (one object per logged step) plus TensorBoard scalars. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type MetricLine = { phase: string; kind: 'train' | 'val' | 'eval'; step: number } & Record<
  string,
  number | string
>;

export function readJsonl<T = MetricLine>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return []; // a line cut by a kill -9
      }
    });
}

export class MetricsLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Starts the log at `step`: keeps earlier lines (resume) and drops later ones (they will be redone). */
  startAt(step: number): void {
    const kept = readJsonl(this.path).filter((l) => l.step <= step);
    writeFileSync(this.path, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  write(line: MetricLine): void {
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
