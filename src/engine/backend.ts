/**
 * The contract between the file layer and an engine, so that `AioFile` does
 * not care whether its requests go to Linux AIO, io_uring or Node's thread
 * pool. Nothing here is reachable from the package root but the types
 * {@link RequestOptions} and {@link EngineName}.
 *
 * The file layer hands an engine one request with {@link Engine.submit} and
 * gets back two things, each exactly once:
 * - the returned promise, which settles with the bytes transferred or the
 *   error (early, as an AbortError, when the request's signal fires);
 * - one call of `release`, when the engine has let go of the request's
 *   descriptor and buffers for good (for an aborted request that is when the
 *   kernel completes it, after the promise has settled). The file counts its
 *   requests with it, so that close() waits for them.
 *
 * An engine calls `release` on every path, a refusal before anything is
 * queued included (use {@link refuse}), and only after it has settled the
 * promise, so that the caller's reactions run before a close() waiting on the
 * request closes the descriptor. `submit` never throws. The arguments are
 * checked by the file layer before `submit` (views, alignment, options).
 * @module
 */
import { Opcode } from '../core/constants.js';
import type { IoPriority } from '../core/ioprio.js';

/** Options of a single read or write. */
export interface RequestOptions {
  /** Rejects the promise with an AbortError at once; the kernel request still completes, and its buffer stays pinned until it does. */
  signal?: AbortSignal | undefined;
  /** Per-request `RWF` flags (`RWF.DSYNC`, `RWF.NOWAIT`, ...). */
  flags?: number | undefined;
  /**
   * The request's I/O priority (`aio_reqprio` with IOCB_FLAG_IOPRIO): a class,
   * `'realtime'` (needs CAP_SYS_NICE), `'best-effort'` or `'idle'`, and a level
   * from 0 (highest) to 7 (default 4). The block device's I/O scheduler
   * (mq-deadline, bfq) honours it; `none` ignores it. The aio engine only.
   */
  priority?: IoPriority | undefined;
}

/** The engines behind `AioFile`: Linux AIO, io_uring, or Node's thread pool. */
export type EngineName = 'aio' | 'uring' | 'threadpool';

/** What an engine is asked to do, named by the kernel's AIO opcodes. */
export type EngineOp = typeof Opcode.PREAD | typeof Opcode.PWRITE | typeof Opcode.PREADV | typeof Opcode.PWRITEV |
  typeof Opcode.FSYNC | typeof Opcode.FDSYNC;

/**
 * The memory of a request: one view for `PREAD`/`PWRITE`, the views in
 * order for `PREADV`/`PWRITEV`, none for `FSYNC`/`FDSYNC`.
 */
export type EngineData = ArrayBufferView | readonly ArrayBufferView[] | undefined;

/** Called by the engine exactly once per request, when it no longer uses the request's fd or memory. */
export type Release = () => void;

/** An engine: where reads, writes and syncs are executed (see the module comment for the contract). */
export interface Engine {
  readonly name: EngineName;
  /**
   * Starts one request on `fd` at `position` (0 for syncs).
   * @returns the bytes transferred (0 for syncs)
   */
  submit(op: EngineOp, fd: number, data: EngineData, position: number, opts: RequestOptions | undefined,
    release: Release): Promise<number>;
  /**
   * Optional: starts `ops.length` requests on `fd` (request q is `ops[q]` on
   * `datas[q]` at `positions[q]`) with one promise for all of them, which
   * settles once every one has: with their results in order, or with the
   * error of the first that failed. `release` is called once, when the engine
   * is done with every one. The file layer runs engines without it one
   * {@link submit} per request.
   */
  submitMany?(ops: readonly EngineOp[], fd: number, datas: readonly EngineData[], positions: readonly number[],
    opts: RequestOptions | undefined, release: Release): Promise<number[]>;
  /**
   * Optional: fallocate(2) of `length` bytes at `offset` with `mode` (the
   * FALLOC_FL_* bits) carried out by the engine itself (io_uring's
   * IORING_OP_FALLOCATE), settled with 0 and released as a request is. The
   * file layer runs it on the thread pool for engines without it.
   */
  allocate?(fd: number, mode: number, offset: number, length: number, release: Release): Promise<number>;
  /**
   * Optional: registers `fd` with the engine (io_uring's file table), so
   * that its requests skip the per-request file lookup. The engine is the
   * file's own: only requests made through it use the entry, which holds
   * the file whatever becomes of `fd`. The file layer calls
   * {@link unregisterFile} (with the same fd) before it closes the fd.
   */
  registerFile?(fd: number): void;
  unregisterFile?(fd: number): void;
}

/** An engine's refusal of a request before it started: releases it and returns the rejection. */
export function refuse(release: Release, err: unknown): Promise<never> {
  release();
  return Promise.reject(err);
}

/** The system call that carries out each op on a thread (and names it under io_uring). */
export const OP_SYSCALLS: Readonly<Record<EngineOp, string>> = {
  [Opcode.PREAD]: 'read',
  [Opcode.PWRITE]: 'write',
  [Opcode.PREADV]: 'readv',
  [Opcode.PWRITEV]: 'writev',
  [Opcode.FSYNC]: 'fsync',
  [Opcode.FDSYNC]: 'fdatasync',
};

/** The error an aborted request rejects with, as Node's own APIs do. */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}
