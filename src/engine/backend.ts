/**
 * The interface every engine implements, so that `AioFile` does not care
 * whether its requests go to Linux AIO or to Node's thread pool.
 * @module
 */

/** Options of a single read or write. */
export interface RequestOptions {
  /** Rejects the promise with an AbortError at once; the kernel request still completes, and its buffer stays pinned until it does. */
  signal?: AbortSignal | undefined;
  /** Per-request `RWF` flags (`RWF.DSYNC`, `RWF.NOWAIT`, ...). */
  flags?: number | undefined;
}

/** What a file does when one of its requests settles: count what is in flight, for close(). */
export interface RequestOwner {
  /** @internal */
  _settled(): void;
}

/** The engines behind `AioFile`. */
export type EngineName = 'aio' | 'threadpool';

/** A backend: where reads, writes and syncs are executed. */
export interface IoBackend {
  readonly name: EngineName;
  read(owner: RequestOwner, fd: number, buf: ArrayBufferView, position: number, opts?: RequestOptions): Promise<number>;
  write(owner: RequestOwner, fd: number, buf: ArrayBufferView, position: number, opts?: RequestOptions): Promise<number>;
  readv(owner: RequestOwner, fd: number, bufs: ArrayBufferView[], position: number, opts?: RequestOptions): Promise<number>;
  writev(owner: RequestOwner, fd: number, bufs: ArrayBufferView[], position: number, opts?: RequestOptions): Promise<number>;
  fsync(owner: RequestOwner, fd: number): Promise<void>;
  fdatasync(owner: RequestOwner, fd: number): Promise<void>;
}

/** The error an aborted request rejects with, as Node's own APIs do. */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}
