/** safetensors files on disk: atomic save (temp file in the same folder, fsync, rename) and load. */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type DecodedSafetensors, decodeSafetensors } from './decode.js';
import type { SafetensorsMetadata } from './dtypes.js';
import { encodeSafetensors, type SafetensorsInput } from './encode.js';

/**
 * Writes `tensors` to `path` atomically: readers see either the old file or the complete new one, never
 * a partial write, even if the process dies mid-save.
 */
export async function saveSafetensors(
  path: string,
  tensors: SafetensorsInput,
  metadata?: SafetensorsMetadata,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes the rename durable; some platforms (Windows) cannot open a directory, which is not an error. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

/** Reads and strictly validates a safetensors file; errors name `path`. */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const bytes = await readFile(path);
  return decodeSafetensors(bytes, { source: path });
}
