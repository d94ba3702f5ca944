/**
 * Node-only file plumbing: crash-safe writes and reads whose failures are user errors.
 *
 * atomicWriteFile guarantees that after a crash or power loss the target holds either the old
 * content or the new content, never a torn mix: the new bytes go to a temp file in the same
 * directory (rename is only atomic within one filesystem), are fsynced before the rename (or a
 * crash could leave the rename durable but the data not), and the directory is fsynced after it
 * (or the rename itself could be lost).
 *
 * writeOutput is the one writer for files a user names (`predict --output`, run and study
 * directories, reports). Its rule, by what the path is:
 *
 *   -                      standard output
 *   a regular file, or     atomic write (temp file, fsync, rename, fsync of the directory)
 *     nothing yet
 *   a symlink              followed: the file it points to is written atomically, the link kept
 *   a character device,    written in place (opened for writing, never renamed over), so
 *     FIFO or socket       `--output /dev/null` or a named pipe works and stays what it was
 *   a directory            refused
 *
 * Every OS error becomes one DataError naming the path and the cause (read-only file system,
 * disk full, permission denied, …), never a stack trace. A temp file left by a killed write is
 * removed by the next write to the same path.
 *
 * Caveat: the replacement gets default permissions (umask), not the old file's mode.
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

/** The cause of an OS error in words, for `cannot write X: <cause>`. */
export function osCause(e: unknown): string | null {
  switch ((e as NodeJS.ErrnoException)?.code) {
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOENT': return 'its directory does not exist';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EISDIR': return 'it is a directory';
    case 'EEXIST': return 'something already exists there';
    case 'ENAMETOOLONG': return 'the name is too long';
    case 'ELOOP': return 'too many symbolic links';
    case 'EIO': return 'I/O error';
    case 'EMFILE': case 'ENFILE': return 'too many open files';
    case 'EFBIG': return 'the file would be too large';
    case 'EBUSY': return 'the device or file is busy';
    case 'ETXTBSY': return 'the file is busy';
    case 'EINVAL': return 'invalid argument (the file system refused the operation)';
    case 'EXDEV': return 'the temp file and the target are on different file systems';
    default: return null;
  }
}

/** An OS error while writing `path` as a user error; anything that is not an OS error is rethrown. */
export function writeError(e: unknown, path: string): unknown {
  if (e instanceof DataError) return e;
  const cause = osCause(e);
  return cause === null ? e : new DataError(`cannot write ${path}: ${cause}`);
}

/** Temp files of earlier writes to `path` whose process is gone (a kill mid-write). */
function removeStaleTemps(path: string): void {
  const dir = dirname(path), prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
    if (!m || (Number(m[1]) !== process.pid && processAlive(Number(m[1])))) continue;
    try { fs.rmSync(join(dir, name), { force: true }); } catch { /* another writer's, or already gone */ }
  }
}

/** Whether a process with this pid exists (EPERM: it does, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What writeOutput does with a path (see the rule at the top). */
export function outputKind(path: string): 'stdout' | 'atomic' | 'in-place' | 'directory' {
  if (path === '-') return 'stdout';
  let st: fs.Stats;
  try {
    st = fs.statSync(path); // follows a symlink to what it points at
  } catch {
    return 'atomic';
  }
  if (st.isDirectory()) return 'directory';
  if (st.isCharacterDevice() || st.isFIFO() || st.isSocket() || st.isBlockDevice()) return 'in-place';
  return 'atomic';
}

/** Writes a file a user named, by the rule at the top of this file. */
export async function writeOutput(path: string, data: Uint8Array | string): Promise<void> {
  switch (outputKind(path)) {
    case 'stdout':
      await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(writeError(e, 'standard output')) : resolve())));
      return;
    case 'directory':
      throw new DataError(`cannot write ${path}: it is a directory`);
    case 'in-place':
      try {
        await fsp.writeFile(path, data);
      } catch (e) {
        throw writeError(e, path);
      }
      return;
    case 'atomic':
      // A symlink is followed, so the link stays and the file it names gets the new content.
      await atomicWriteFile(fs.existsSync(path) ? fs.realpathSync(path) : path, data, path);
  }
}

export async function atomicWriteFile(path: string, data: Uint8Array | string, what = path): Promise<void> {
  removeStaleTemps(path);
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
    throw writeError(e, what);
  }
  try {
    await fsyncDirectory(dirname(path));
  } catch (e) {
    throw writeError(e, what);
  }
}

/**
 * mkdir -p, one level at a time from the deepest existing ancestor, so a failure carries its
 * real cause (Node's recursive mkdir reports a read-only file system as ENOENT).
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      await fsp.mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Fails early, with the cause, when files cannot be created in `dir` (made if missing): a
 * training run checks its --out before the first epoch, not after it.
 */
export async function checkWritableDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir);
    const probe = tempPathFor(join(dir, 'write-check'));
    await fsp.writeFile(probe, '', { flag: 'wx' });
    await fsp.rm(probe, { force: true });
  } catch (e) {
    throw writeError(e, dir);
  }
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
    e = writeError(e, path);
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
