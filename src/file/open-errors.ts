/**
 * What open() and a file's access mode say when they refuse: the real cause
 * (a directory, a FIFO, a file opened write-only), with the path, in Node's
 * shape, and a remedy that does no harm.
 * @internal
 * @module
 */
import fs from 'node:fs';
import { AioError } from '../core/errors.js';

const { O_RDONLY, O_WRONLY, O_CREAT } = fs.constants;
/** The access-mode bits of open(2)'s flags (Node does not export O_ACCMODE). */
const O_ACCMODE = 3;
const EBADF = 9;
const EINVAL = 22;
const EISDIR = 21;

/** What a path is, in words, when it is neither a regular file nor a block device. */
function kindOf(st: fs.Stats): string | undefined {
  if (st.isFile() || st.isBlockDevice()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isSocket()) return 'a socket';
  return 'neither a regular file nor a block device';
}

/**
 * The error for a path that is not a regular file or block device, or
 * undefined when it is one. Directories are EISDIR, as with Node's fs.
 */
export function notAFileError(st: fs.Stats, path: string): AioError | undefined {
  const kind = kindOf(st);
  if (kind === undefined) return undefined;
  if (st.isDirectory()) return new AioError(EISDIR, 'open', `${path} is a directory: open a file or a block device`, path);
  return new AioError(EINVAL, 'open', `${path} is ${kind}, not a regular file or block device: O_DIRECT needs one (pass { direct: false } for buffered I/O through the thread pool)`, path);
}

/**
 * Refuses, before open(2), a path that O_DIRECT cannot serve, and any
 * directory. It must come first: open(2) of a FIFO waits for a writer before
 * the kernel looks at O_DIRECT, which would hang a thread of the pool for
 * good. A path that cannot be stat'ed is left to open(2) to report.
 */
export async function refuseNonFile(path: string, direct: boolean): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(path);
  } catch {
    return;
  }
  const refusal = notAFileError(st, path);
  if (refusal && (direct || st.isDirectory())) throw refusal;
}

/** Turns open(2)'s refusal into an AioError naming the cause and the path. */
export function openError(err: NodeJS.ErrnoException, path: string, osFlags: number, direct: boolean): Error {
  if (typeof err.errno !== 'number') return err;
  let hint: string | undefined = `cannot open ${path}`;
  if (direct && err.code === 'EINVAL') {
    // O_DIRECT is refused by what the path is as much as by its file system.
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(path);
    } catch {
      /* gone meanwhile: say what open said */
    }
    const what = st && notAFileError(st, path);
    if (what) return what;
    hint = `the file system of ${path} refuses O_DIRECT: pass { direct: false } to use buffered I/O through the thread pool`;
  } else if (err.code === 'ENOENT') {
    hint = (osFlags & O_CREAT) !== 0
      ? `a folder on the way to ${path} does not exist`
      // 'wx+' creates and never truncates: should the file appear meanwhile, it fails instead ('w+' would empty it).
      : `${path} does not exist: pass flags 'wx+' to create it (never 'w+' on a file that may exist: it empties it)`;
  } else if (err.code === 'EACCES' || err.code === 'EPERM') {
    hint = `no permission to open ${path}`;
  } else if (err.code === 'EISDIR') {
    hint = `${path} is a directory: open a file or a block device`;
  }
  return new AioError(err.errno, 'open', hint, path);
}

/** The hints for requests a file's access mode refuses, by direction. */
export interface AccessRefusals {
  read: string | undefined;
  write: string | undefined;
}

/** What reading or writing a file opened with `flags` would be refused with, before the kernel says EBADF. */
export function accessRefusals(path: string, flags: string | number, osFlags: number): AccessRefusals {
  const given = typeof flags === 'string' ? `'${flags}'` : `flags 0o${flags.toString(8)}`;
  const mode = osFlags & O_ACCMODE;
  return {
    read: mode === O_WRONLY ? `${path} was opened write-only (${given}): open it with 'r+' to read` : undefined,
    write: mode === O_RDONLY ? `${path} was opened read-only (${given}): open it with 'r+' to write` : undefined,
  };
}

/** The EBADF for a request the access mode refuses. */
export function accessError(syscall: string, hint: string, path: string): AioError {
  return new AioError(EBADF, syscall, hint, path);
}
