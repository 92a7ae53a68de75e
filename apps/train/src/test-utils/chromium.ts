/** Test helper: the headless-Chromium binary on PATH, if any (the report render checks need it). */
import { spawnSync } from 'node:child_process';

export function chromium(): string | undefined {
  for (const bin of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return undefined;
}
