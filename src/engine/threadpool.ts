import fs from 'node:fs';
import { EOPNOTSUPP } from '../core/errno.js';
import { OP_SYSCALLS, abortError, refuse, type Engine, type EngineData, type EngineOp, type Release, type RequestOptions } from './backend.js';
import { Opcode } from '../core/constants.js';
import { AioError } from '../core/errors.js';
import { AbortWatch } from './abort-watch.js';

type Callback = (err: NodeJS.ErrnoException | null, n?: number) => void;

/**
 * The guide's first alternative: synchronous I/O on a pool of threads,
 * here libuv's (Node's `fs`; size it with UV_THREADPOOL_SIZE). `open` picks
 * it for buffered files, because Linux AIO runs buffered I/O synchronously
 * inside io_submit and would block the event loop.
 */
export const threadPool: Engine = {
  name: 'threadpool',
  submit: run,
};

/** Hands the request to libuv's pool; `cb` gets the bytes transferred. */
function start(op: EngineOp, fd: number, data: EngineData, position: number, cb: Callback): void {
  switch (op) {
    case Opcode.PREAD: {
      const buf = data as ArrayBufferView;
      return fs.read(fd, asBytes(buf), 0, buf.byteLength, position, cb);
    }
    case Opcode.PWRITE: {
      const buf = data as ArrayBufferView;
      return fs.write(fd, asBytes(buf), 0, buf.byteLength, position, cb);
    }
    case Opcode.PREADV: return fs.readv(fd, (data as readonly ArrayBufferView[]).map(asBytes), position, cb);
    case Opcode.PWRITEV: return fs.writev(fd, (data as readonly ArrayBufferView[]).map(asBytes), position, cb);
    case Opcode.FSYNC: return fs.fsync(fd, (err) => cb(err, 0));
    case Opcode.FDSYNC: return fs.fdatasync(fd, (err) => cb(err, 0));
  }
}

function asBytes(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A thread-pool request whose promise may be rejected early by its signal. */
interface Watched {
  settled: boolean;
  reject: (err: unknown) => void;
}

const aborts = new AbortWatch<Watched>((w, signal) => {
  if (w.settled) return;
  w.settled = true;
  w.reject(abortError(signal));
});

function run(op: EngineOp, fd: number, data: EngineData, position: number, opts: RequestOptions | undefined,
  release: Release): Promise<number> {
  const syscall = OP_SYSCALLS[op];
  const signal = opts?.signal;
  if (signal?.aborted) return refuse(release, abortError(signal));
  if (opts?.flags) {
    return refuse(release, new AioError(EOPNOTSUPP, syscall, 'per-request RWF flags need a kernel engine (aio or uring); the thread pool cannot pass them'));
  }
  if (opts?.priority !== undefined) {
    return refuse(release, new AioError(95, syscall, 'a per-request I/O priority needs a kernel engine (aio or uring); the thread pool cannot pass it (ionice the process instead)'));
  }
  return new Promise<number>((resolve, reject) => {
    const w: Watched = { settled: false, reject };
    if (signal) aborts.add(signal, w);
    let called = false;
    const done: Callback = (err, n) => {
      if (called) return;
      called = true;
      if (signal) aborts.delete(signal, w);
      // Settle first, then release, as the contract asks.
      if (!w.settled) {
        w.settled = true;
        if (err) reject(typeof err.errno === 'number' ? new AioError(err.errno, syscall) : err);
        else resolve(n ?? 0);
      }
      release();
    };
    try {
      start(op, fd, data, position, done);
    } catch (err) {
      // fs throws synchronously on arguments it refuses (ERR_OUT_OF_RANGE):
      // the request still settles, and is still released, once.
      done(err as NodeJS.ErrnoException);
    }
  });
}
