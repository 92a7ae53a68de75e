/**
 * The documented CLIs run by name after setup: `npx --no-install anchor-refine` and
 * `npx --no-install anchor-refine-deploy` from the repository root resolve to the workspace bin links
 * (never the registry) and run the TypeScript sources; the exit status comes back through the launcher.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function npx(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['--no-install', ...args],
      { cwd: repoRoot, timeout: 60_000, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('CLIs by name (npx, no registry)', () => {
  it('anchor-refine --help and anchor-refine-deploy --help succeed; a bad command fails', async () => {
    const [train, deploy] = await Promise.all([
      npx('anchor-refine', '--help'),
      npx('anchor-refine-deploy', '--help'),
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stdout).toContain('Usage: anchor-refine [options] [command]');
    expect(train.stdout).toContain('train');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain('Usage: anchor-refine-deploy [options] [command]');
    expect(deploy.stdout).toContain('serve');
    const bad = await npx('anchor-refine-deploy', 'no-such-command');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("unknown command 'no-such-command'");
  });
});
