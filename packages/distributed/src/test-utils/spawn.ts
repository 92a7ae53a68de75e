/** Runs a TypeScript entry point as N local ranks (RANK/WORLD_SIZE/MASTER_*), collecting each one's output. */
import { spawn } from 'node:child_process';
import { freePort } from '../port.js';

export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function runRanks(
  entry: string,
  size: number,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RankResult[]> {
  const port = await freePort();
  const t0 = Date.now();
  return Promise.all(
    [...Array(size).keys()].map(
      (rank) =>
        new Promise<RankResult>((resolve) => {
          const child = spawn(
            process.execPath,
            ['--conditions=@anchor-refine/source', '--import', 'tsx', entry],
            {
              env: {
                ...process.env,
                ...env,
                RANK: String(rank),
                LOCAL_RANK: String(rank),
                WORLD_SIZE: String(size),
                MASTER_ADDR: '127.0.0.1',
                MASTER_PORT: String(port),
              },
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => {
            stdout += d;
          });
          child.stderr.on('data', (d) => {
            stderr += d;
          });
          const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ rank, code, signal, stdout, stderr, ms: Date.now() - t0 });
          });
        }),
    ),
  );
}

/** The last line of a rank's stdout that parses as JSON. */
export function lastJson<T>(r: RankResult): T {
  const lines = r.stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l) as T;
    } catch {}
  }
  throw new Error(`rank ${r.rank} printed no JSON (code ${r.code}); stderr:\n${r.stderr}`);
}
