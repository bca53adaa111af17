import util from 'node:util';
import { native } from './native.js';
import { argTypeError } from './validate.js';

/**
 * Where Linux's names and texts differ from libuv's: errno 95 is EOPNOTSUPP
 * in the kernel's headers and man pages (ENOTSUP is the same number), and
 * libuv's text for it speaks of sockets, which misleads about a file.
 */
const LINUX_NAMES: ReadonlyMap<number, readonly [string, string]> = new Map([
  [95, ['EOPNOTSUPP', 'operation not supported']],
]);

/**
 * An error from the kernel, in Node's conventions: `code` is the errno name
 * (`'EINVAL'`), `errno` the negative number, `syscall` the call that failed,
 * `path` the file where one is involved, and `hint` says what to do about it
 * where the cause is known.
 *
 * The message follows Node's shape: `ENOENT: no such file or directory, open
 * '/p'` when there is a path; without one, the hint follows in parentheses.
 * Errno 95 is named `'EOPNOTSUPP'`, as Linux names it (Node's own fs errors
 * call the same number `'ENOTSUP'`).
 */
export class AioError extends Error {
  /** The errno name, such as `'EAGAIN'`. */
  readonly code: string;
  /** The negative errno number, as in Node's own errors. */
  readonly errno: number;
  /** The system call (or library step) that failed, such as `'io_submit'`. */
  readonly syscall: string;
  /** What is known about the cause and the remedy, when something is. */
  readonly hint: string | undefined;
  /** The file the failed call was about, as given to `open()`. */
  declare readonly path?: string;
  /**
   * On a write that failed part-way (ENOSPC, EIO): the bytes that landed
   * before the failure, from the write's position on.
   */
  declare bytesWritten?: number;

  /**
   * @param errno - the error number, positive or negative
   * @param syscall - the call that failed
   * @param hint - the known cause and remedy
   * @param path - the file involved
   */
  constructor(errno: number, syscall: string, hint?: string, path?: string) {
    if (typeof errno !== 'number') throw argTypeError(`errno must be a number, got ${typeof errno}`);
    if (typeof syscall !== 'string') throw argTypeError(`syscall must be a string, got ${typeof syscall}`);
    if (hint !== undefined && typeof hint !== 'string') throw argTypeError(`hint must be a string, got ${typeof hint}`);
    if (path !== undefined && typeof path !== 'string') throw argTypeError(`path must be a string, got ${typeof path}`);
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    const description = LINUX_NAMES.get(positive)?.[1] ?? util.getSystemErrorMap().get(-positive)?.[1] ?? 'unknown error';
    super(path === undefined
      ? `${code}: ${description}, ${syscall}${hint ? ` (${hint})` : ''}`
      : `${code}: ${description}, ${syscall} '${path}'`);
    this.name = 'AioError';
    this.code = code;
    this.errno = -positive;
    this.syscall = syscall;
    this.hint = hint;
    if (path !== undefined) Object.defineProperty(this, 'path', { value: path, enumerable: true });
  }
}

/** The errno name of a positive or negative error number (`22` → `'EINVAL'`, `95` → `'EOPNOTSUPP'`). */
export function errnoName(errno: number): string {
  if (typeof errno !== 'number') throw argTypeError(`errno must be a number, got ${typeof errno}`);
  const linux = LINUX_NAMES.get(Math.abs(errno));
  if (linux) return linux[0];
  try {
    const name = util.getSystemErrorName(-Math.abs(errno));
    // Node answers "Unknown system error -N" for numbers it has no name for.
    if (/^E[A-Z0-9]+$/.test(name)) return name;
  } catch {
    /* not an errno at all */
  }
  return `E${Math.abs(errno)}`;
}

native.setErrorClass(AioError);
