/**
 * Checkpoints in a folder that cannot be written: the error names the folder and says what to do,
 * instead of a bare `EPERM: operation not permitted, rmdir …`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW } from '@anchor-refine/nn';
import { createPolicy, policyConfig } from '@anchor-refine/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, checkpointsDir, removeStaleTemps, saveCheckpoint } from './checkpoint.js';

const restores: (() => void)[] = [];
afterEach(() => {
  for (const r of restores.splice(0).reverse()) r();
});

/** Makes `dir` unwritable (chmod for a normal user; chattr +i for root); false when this host cannot. */
function makeUnwritable(dir: string): boolean {
  try {
    if (process.getuid?.() === 0) {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
      restores.push(() => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' }));
    } else {
      chmodSync(dir, 0o555);
      restores.push(() => chmodSync(dir, 0o755));
    }
  } catch {
    return false;
  }
  try {
    mkdirSync(join(dir, 'probe'));
    rmdirSync(join(dir, 'probe'));
    return false; // still writable (e.g. Windows, or a filesystem without immutable folders)
  } catch {
    return true;
  }
}

function phaseDirWithStaleTemp(): { phaseDir: string; root: string } {
  const phaseDir = mkdtempSync(join(tmpdir(), 'train-ro-'));
  restores.push(() => rmSync(phaseDir, { recursive: true, force: true }));
  const root = checkpointsDir(phaseDir);
  mkdirSync(join(root, '.step-00000004.123.tmp', 'policy'), { recursive: true });
  return { phaseDir, root };
}

const ADVICE = /cannot write checkpoints here: (EPERM|EACCES|EROFS) \((rmdir|mkdir|open|unlink) /;

describe('checkpoints in a read-only folder', () => {
  it('removing stale temps names the folder and what to do', async (ctx) => {
    const { phaseDir, root } = phaseDirWithStaleTemp();
    if (!makeUnwritable(root)) ctx.skip();
    const err = await removeStaleTemps(phaseDir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CheckpointError);
    const message = (err as Error).message;
    expect(message.startsWith(`checkpoint ${root}: cannot write checkpoints here: `)).toBe(true);
    expect(message).toMatch(ADVICE);
    expect(message).toContain('--out <dir>');
  });

  it('saving a checkpoint names the folder and what to do', async (ctx) => {
    const { phaseDir, root } = phaseDirWithStaleTemp();
    if (!makeUnwritable(root)) ctx.skip();
    const policy = createPolicy(policyConfig('tiny'));
    const opt = new AdamW(policy.namedParameters(), { lr: 1e-3 });
    try {
      await expect(
        saveCheckpoint(phaseDir, policy, opt, { phase: 'anchor', step: 4, time: 0 }, 2),
      ).rejects.toThrow(`checkpoint ${root}: cannot write checkpoints here`);
    } finally {
      opt.dispose();
      policy.dispose();
    }
  });
});
