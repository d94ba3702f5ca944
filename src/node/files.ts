/**
 * Node-only file plumbing: crash-safe writes and reads whose failures are user errors.
 *
 * atomicWriteFile guarantees that after a crash or power loss the target holds either the old
 * content or the new content, never a torn mix: the new bytes go to a temp file in the same
 * directory (rename is only atomic within one filesystem), are fsynced before the rename (or a
 * crash could leave the rename durable but the data not), and the directory is fsynced after it
 * (or the rename itself could be lost).
 *
 * Caveats: the replacement gets default permissions (umask), not the old file's mode; and if
 * the target is a symlink, the link itself is replaced rather than the file it points to.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DataError } from '../errors.js';

function tempPathFor(path: string): string {
  // Leading dot hides it from casual listings; pid + random keep concurrent writers (threads,
  // processes, a retry after a crash) from colliding.
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Some platforms can't open or fsync a directory (Windows: EISDIR/EPERM; some filesystems:
 * EINVAL/ENOTSUP); the write already happened, so losing only the extra durability is right.
 * EIO and friends still propagate.
 */
const IGNORED_DIR_FSYNC_CODES = new Set(['EINVAL', 'EISDIR', 'EPERM', 'EACCES', 'ENOTSUP', 'EBADF']);

function ignorableDirSyncError(e: unknown): boolean {
  return IGNORED_DIR_FSYNC_CODES.has((e as NodeJS.ErrnoException)?.code ?? '');
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    if (!ignorableDirSyncError(e)) throw e;
  } finally {
    await handle?.close().catch(() => {});
  }
}

function fsyncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    if (!ignorableDirSyncError(e)) throw e;
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Nothing useful to do: the data is already durable.
      }
    }
  }
}

export async function atomicWriteFile(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  let handle: fsp.FileHandle | undefined;
  try {
    // 'wx': never follow or clobber something already sitting at the temp name.
    handle = await fsp.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await fsyncDirectory(dirname(path));
}

/** For signal and exit handlers, where there is no event loop turn left to await on. */
export function atomicWriteFileSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Same: don't mask the original error.
    }
    throw e;
  }
  fsyncDirectorySync(dirname(path));
}

/**
 * `what` is how the file is named in messages (usually the path as the user typed it). Returns a
 * plain Uint8Array view rather than a Buffer, whose `slice` aliases instead of copying.
 */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (e) {
    switch ((e as NodeJS.ErrnoException)?.code) {
      case 'ENOENT':
      case 'ENOTDIR':
        throw new DataError(`no such file: ${what}`);
      case 'EISDIR':
        throw new DataError(`${what} is a directory, not a file`);
      case 'EACCES':
      case 'EPERM':
        throw new DataError(`permission denied reading ${what}`);
      default:
        throw e;
    }
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
