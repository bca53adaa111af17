import { AioError } from '../core/errors.js';

/** An AioError that names the file it happened on, as Node's fs errors do. */
export type FileError = AioError & { path: string };

/** The AioError for `errno` from `syscall` on `path`, with what is known about the cause. */
export function fileError(errno: number, syscall: string, path: string, hint?: string): FileError {
  return new AioError(errno, syscall, hint, path) as FileError;
}

/** `err` as a FileError on `path`: an AioError from the addon is rebuilt with the hint; anything else passes. */
export function onFile(err: unknown, syscall: string, path: string, hint: (code: string) => string | undefined): unknown {
  if (!(err instanceof AioError)) return err;
  return fileError(err.errno, syscall, path, hint(err.code) ?? err.hint);
}

/** `err` with `path`, when it is an AioError from the engine that names none; anything else passes. */
export function withPath(err: unknown, path: string): unknown {
  if (!(err instanceof AioError) || 'path' in err) return err;
  return fileError(err.errno, err.syscall, path, err.hint);
}

/** A write that moved fewer bytes than asked (the device is full, as a rule): an error, never a silent loss. */
export function shortWrite(path: string, n: number, asked: number, position: number): FileError {
  return fileError(5, 'write', path, `short write: ${n} of ${asked} bytes at ${position} landed (is the device full?)`);
}
