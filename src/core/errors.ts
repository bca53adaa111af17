import util from 'node:util';
import { native } from './native.js';
import { argTypeError } from './validate.js';

/**
 * An error from the kernel, in Node's conventions: `code` is the errno name
 * (`'EINVAL'`), `errno` the negative number, `syscall` the call that failed,
 * and `hint` says what to do about it where the cause is known.
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
  /**
   * On a write that failed part-way (ENOSPC, EIO): the bytes that landed
   * before the failure, from the write's position on.
   */
  declare bytesWritten?: number;

  /**
   * @param errno - the error number, positive or negative
   * @param syscall - the call that failed
   * @param hint - the known cause and remedy
   */
  constructor(errno: number, syscall: string, hint?: string) {
    if (typeof errno !== 'number') throw argTypeError(`errno must be a number, got ${typeof errno}`);
    if (typeof syscall !== 'string') throw argTypeError(`syscall must be a string, got ${typeof syscall}`);
    if (hint !== undefined && typeof hint !== 'string') throw argTypeError(`hint must be a string, got ${typeof hint}`);
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    const description = util.getSystemErrorMap().get(-positive)?.[1] ?? 'unknown error';
    super(`${code}: ${description}, ${syscall}${hint ? ` (${hint})` : ''}`);
    this.name = 'AioError';
    this.code = code;
    this.errno = -positive;
    this.syscall = syscall;
    this.hint = hint;
  }
}

/** The errno name of a positive or negative error number (`22` → `'EINVAL'`). */
export function errnoName(errno: number): string {
  if (typeof errno !== 'number') throw argTypeError(`errno must be a number, got ${typeof errno}`);
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
