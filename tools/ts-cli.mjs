/**
 * Runs one of this repository's TypeScript CLIs from its sources, so `npx anchor-refine …` and
 * `npx anchor-refine-deploy …` work right after `bash tools/bootstrap.sh setup`, with no build step.
 * The CLI runs in a child node with the `@anchor-refine/source` export condition and tsx's loader (through
 * tools/tsx-lean.mjs) as
 * real command-line flags, so worker threads (data loader, policy worker) inherit them. Arguments and
 * stdio pass through; the exit status and a terminating signal come back.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** @param {URL} cli the CLI's TypeScript entry (e.g. `new URL('../src/cli.ts', import.meta.url)`) */
export function runTsCli(cli) {
  try {
    createRequire(cli).resolve('tsx');
  } catch {
    console.error(
      `${fileURLToPath(cli)}: tsx is not installed; run \`bash tools/bootstrap.sh setup\` in the repository first`,
    );
    process.exit(1);
  }
  // tsx-lean.mjs: tsx's loader, with tfjs loaded before it turns source maps on (~57 MB less RSS)
  const lean = new URL('./tsx-lean.mjs', import.meta.url).href;
  const args = ['--conditions=@anchor-refine/source', `--import=${lean}`, fileURLToPath(cli)];
  const child = spawn(process.execPath, [...process.execArgv, ...args, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Ctrl-C reaches the child from the terminal itself; a SIGTERM/SIGHUP sent to this launcher is passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`cannot start ${fileURLToPath(cli)}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
