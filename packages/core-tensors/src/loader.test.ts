/** The addon loader's error when the binary is missing, checked in a child process (loading is once per process). */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const nativeDir = dirname(createRequire(import.meta.url).resolve('@anchor-refine/core-tensors-native'));

function loadWith(path: string): { status: number | null; stderr: string; stdout: string } {
  const script = `
    const loader = require(${JSON.stringify(nativeDir)});
    try { const { file } = loader.load(); console.log('loaded ' + file); }
    catch (err) { console.error(err.code + ': ' + err.message); process.exit(3); }`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CORE_TENSORS_NATIVE_PATH: path },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('addon loader', () => {
  it('names the missing file and the build command, without crashing', () => {
    const r = loadWith('/nonexistent/core_tensors.node');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/CORE_TENSORS_ADDON_MISSING/);
    expect(r.stderr).toMatch(/\/nonexistent\/core_tensors\.node/);
    expect(r.stderr).toMatch(/nx run core-tensors-native:build-native/);
  });

  it('loads an explicitly named binary', () => {
    const built = `${nativeDir}/build/Release/core_tensors.node`;
    const r = loadWith(built);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`loaded ${built}`);
  });
});
