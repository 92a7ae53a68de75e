/** safetensors files on disk: atomic save (temp file in the same folder, fsync, rename) and load. */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type DecodedSafetensors, decodeSafetensors } from './decode.js';
import type { SafetensorsMetadata } from './dtypes.js';
import { encodeSafetensors, type SafetensorsInput } from './encode.js';
import { SafetensorsError } from './errors.js';
import { headerLength, type ParsedHeader, parseHeaderJson } from './header.js';

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

/**
 * Opens `path` for reading and checks it is a regular file. O_NONBLOCK keeps the open of a FIFO from
 * waiting for a writer; a device such as /dev/zero would otherwise be read without end.
 */
async function openRegular(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      const kind = stat.isDirectory()
        ? 'a directory'
        : stat.isFIFO()
          ? 'a FIFO (named pipe)'
          : stat.isCharacterDevice()
            ? 'a character device'
            : stat.isBlockDevice()
              ? 'a block device'
              : stat.isSocket()
                ? 'a socket'
                : 'not a regular file';
      throw new SafetensorsError(path, undefined, `is ${kind}; a safetensors file must be a regular file`);
    }
    return { handle, size: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readExactly(
  handle: FileHandle,
  length: number,
  position: number,
  path: string,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        path,
        undefined,
        `file ended at byte ${position + done} while reading (it shrank while being read?)`,
      );
    }
    done += bytesRead;
  }
  return buffer;
}

/** Reads and strictly validates a safetensors file; errors name `path`. Refuses non-regular files. */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const { handle, size } = await openRegular(path);
  try {
    const bytes = await readExactly(handle, size, 0, path);
    return decodeSafetensors(bytes, { source: path });
  } finally {
    await handle.close();
  }
}

/**
 * Reads and validates only the header of a safetensors file (names, dtypes, shapes, offsets checked against
 * the file size), without reading the tensor data: enough to check shapes before building anything.
 */
export async function readSafetensorsHeader(path: string): Promise<ParsedHeader> {
  const { handle, size } = await openRegular(path);
  try {
    const prefix = await readExactly(handle, Math.min(8, size), 0, path);
    const n = headerLength(prefix, size, path);
    const json = await readExactly(handle, n, 8, path);
    return parseHeaderJson(json, size - 8 - n, path);
  } finally {
    await handle.close();
  }
}
