/**
 * How the file layer's helpers (whole-file, writeAt, truncate, allocate)
 * hold an AioFile open across several requests or an operation no engine
 * carries: each AioFile registers its hold here when it is made, so that the
 * helpers need not import aio-file.ts (which imports them). Not exported
 * from the package root.
 * @internal
 * @module
 */
import { argTypeError } from '../core/validate.js';
import type { EngineData, EngineOp, RequestOptions } from '../engine/backend.js';

/**
 * Submits one request of a held file to its engine: no closing check, as the
 * hold keeps the fd open, and no alignment check, as the helpers that use it
 * build aligned requests themselves.
 */
export type HeldIo = (op: EngineOp, data: EngineData, position: number, opts?: RequestOptions) => Promise<number>;

/**
 * fallocate(2) of a held file through its engine (io_uring's
 * IORING_OP_FALLOCATE), counted by the hold alone; resolves to 0.
 */
export type HeldAllocate = (mode: number, offset: number, length: number) => Promise<number>;

/**
 * Runs `fn` holding the file open (close() waits for it); refused once the
 * file is closing. `allocate` is there when the file's engine carries
 * fallocate itself.
 */
export type Hold = <T>(syscall: string, fn: (io: HeldIo, allocate: HeldAllocate | undefined) => Promise<T>) => Promise<T>;

const holds = new WeakMap<object, Hold>();

/** Called once by each AioFile as it is made. */
export function registerHold(file: object, hold: Hold): void {
  holds.set(file, hold);
}

/** Runs `fn`, an operation on `file`'s fd, holding the file open. */
export function holdOpen<T>(file: object, syscall: string, fn: (io: HeldIo, allocate: HeldAllocate | undefined) => Promise<T>): Promise<T> {
  const hold = holds.get(file);
  if (!hold) throw argTypeError('this is not an AioFile made by open()');
  return hold(syscall, fn);
}
