/** Runs the real `anchor-refine` CLI from sources in a child process (for tests). */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../..', import.meta.url));

/** `anchor-refine train --config <config> --phase <phase> --no-progress ...extra` */
export function startTrain(config: string, extra: string[] = [], phase = 'anchor'): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--conditions=@anchor-refine/source',
      '--import',
      'tsx',
      CLI,
      'train',
      '--config',
      config,
      '--phase',
      phase,
      '--no-progress',
      ...extra,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Waits for the process; stdout and stderr together. */
export function finish(
  p: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  let out = '';
  p.stdout?.on('data', (d) => {
    out += d;
  });
  p.stderr?.on('data', (d) => {
    out += d;
  });
  return new Promise((res) => p.on('exit', (code, signal) => res({ code, signal, out })));
}
