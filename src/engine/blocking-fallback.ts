/**
 * Where the aio engine sends a request that the kernel would have had to
 * sleep for: the thread pool, whose threads may block without blocking the
 * event loop. The aio engine submits reads and writes with `RWF_NOWAIT`;
 * the kernel answers `-EAGAIN` where it would sleep (an O_DIRECT write that
 * allocates blocks, a range with dirty page-cache pages, uncached extent
 * metadata), and the request is run again here.
 * @module
 */
import { Opcode, RWF } from '../core/constants.js';
import type { EngineData, EngineOp, Release } from './backend.js';
import { threadPool } from './threadpool.js';

/**
 * The caller's own flags a blocking retry can honour: the sync flags become
 * an fsync or fdatasync after the write. `RWF_HIPRI` only asks for polling,
 * which Linux AIO ignores anyway. The rest (`APPEND`, `NOAPPEND`, `NOWAIT`)
 * change what the request means, so such requests never get our NOWAIT and
 * never come here.
 */
export const RETRYABLE_FLAGS = RWF.DSYNC | RWF.SYNC | RWF.HIPRI;

/** Whether `op` may be submitted with `RWF_NOWAIT` (the kernel refuses it on syncs). */
export function takesNowait(op: number): boolean {
  return op === Opcode.PREAD || op === Opcode.PWRITE || op === Opcode.PREADV || op === Opcode.PWRITEV;
}

/**
 * Runs the request on the thread pool with the meaning `flags` gave it on
 * the aio engine. `release` is called once, when the pool no longer uses the
 * fd or the memory (with a sync flag, just before the promise settles: the
 * caller waits for both).
 */
export function submitBlocking(op: EngineOp, fd: number, data: EngineData, position: number, flags: number,
  release: Release): Promise<number> {
  const isWrite = op === Opcode.PWRITE || op === Opcode.PWRITEV;
  const sync = !isWrite ? 0 : (flags & RWF.SYNC) !== 0 ? Opcode.FSYNC : (flags & RWF.DSYNC) !== 0 ? Opcode.FDSYNC : 0;
  if (sync === 0) return threadPool.submit(op, fd, data, position, undefined, release);
  let written = 0;
  return threadPool.submit(op, fd, data, position, undefined, noop)
    .then((n) => {
      written = n;
      return threadPool.submit(sync, fd, undefined, 0, undefined, noop);
    })
    .then(() => written)
    .finally(release);
}

function noop(): void {}
