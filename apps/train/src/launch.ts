/**
 * `train --nproc N`: N local ranks of this same CLI (like `torchrun --standalone --nproc_per_node N`):
 * each child gets RANK / LOCAL_RANK / WORLD_SIZE / MASTER_ADDR=127.0.0.1 / MASTER_PORT (a free port) and
 * an equal share of the cores (CORE_TENSORS_THREADS, unless set). When a rank fails the others stop by
 * themselves (their collectives name it); any still running after `graceMs` are terminated. The exit
 * code is the first failing rank's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { DistributedError, freePort } from '@anchor-refine/distributed';
import { type DistTrain, type DistTrainOptions, openDistTrain } from './distributed.js';

/** argv without `--nproc N` / `--nproc=N`. */
export function withoutNproc(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') i++;
    else if (!argv[i].startsWith('--nproc=')) out.push(argv[i]);
  }
  return out;
}

export interface LaunchOptions {
  /** Time the other ranks get to stop by themselves after one failed (default 60 s). */
  graceMs?: number;
  log?: (msg: string) => void;
}

/** Runs `script args` as `nproc` ranks; resolves with the exit code. */
export async function launchLocal(
  nproc: number,
  script: string,
  args: readonly string[],
  opts: LaunchOptions = {},
): Promise<number> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const port = await freePort();
  const threads = String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  const children: ChildProcess[] = [];
  let firstFailure: { rank: number; code: number } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (sig: NodeJS.Signals) => () => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = [...Array(nproc).keys()].map((rank) => {
      const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
        stdio: 'inherit',
        env: {
          ...process.env,
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          WORLD_SIZE: String(nproc),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          CORE_TENSORS_THREADS: process.env.CORE_TENSORS_THREADS ?? threads,
        },
      });
      children.push(child);
      return new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          const c = code ?? (signal ? 128 : 1);
          if (c !== 0 && !firstFailure) {
            firstFailure = { rank, code: c };
            log(`train --nproc: rank ${rank} exited with ${signal ?? `code ${code}`}`);
            killTimer = setTimeout(forward('SIGTERM'), opts.graceMs ?? 60_000);
          }
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return firstFailure?.code ?? 0;
}

/**
 * Runs `fn` as one rank when the env contract names several (else with no DistTrain). A failure is
 * announced to the other ranks; after a collective failed the process must exit (a gloo worker thread
 * may still be blocked), so this exits with code 1 itself then.
 */
export async function asRank<T>(
  opts: DistTrainOptions,
  fn: (dist: DistTrain | undefined) => Promise<T>,
): Promise<T> {
  const dist = await openDistTrain(undefined, opts);
  try {
    const out = await fn(dist);
    await dist?.close();
    return out;
  } catch (err) {
    if (!dist) throw err;
    await dist.fail(err);
    console.error(`anchor-refine: rank ${dist.rank}: ${(err as Error).message}`);
    process.exit(err instanceof DistributedError ? 3 : 1);
  }
}
