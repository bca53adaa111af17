import fs from 'node:fs';
import { abortError, type IoBackend, type RequestOptions, type RequestOwner } from './backend.js';
import { AioError } from '../core/errors.js';
import { AbortWatch } from './abort-watch.js';

type Callback = (err: NodeJS.ErrnoException | null, n?: number) => void;

/**
 * The guide's first alternative: synchronous I/O on a pool of threads,
 * here libuv's (Node's `fs`; size it with UV_THREADPOOL_SIZE). `open` picks
 * it for buffered files, because Linux AIO runs buffered I/O synchronously
 * inside io_submit and would block the event loop.
 */
export const threadPool: IoBackend = {
  name: 'threadpool',
  read: (owner, fd, buf, position, opts) =>
    run(owner, opts, 'read', (cb) => fs.read(fd, asBytes(buf), 0, buf.byteLength, position, cb)),
  write: (owner, fd, buf, position, opts) =>
    run(owner, opts, 'write', (cb) => fs.write(fd, asBytes(buf), 0, buf.byteLength, position, cb)),
  readv: (owner, fd, bufs, position, opts) =>
    run(owner, opts, 'readv', (cb) => fs.readv(fd, bufs.map(asBytes), position, cb)),
  writev: (owner, fd, bufs, position, opts) =>
    run(owner, opts, 'writev', (cb) => fs.writev(fd, bufs.map(asBytes), position, cb)),
  fsync: async (owner, fd) => {
    await run(owner, undefined, 'fsync', (cb) => fs.fsync(fd, (err) => cb(err, 0)));
  },
  fdatasync: async (owner, fd) => {
    await run(owner, undefined, 'fdatasync', (cb) => fs.fdatasync(fd, (err) => cb(err, 0)));
  },
};

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

function run(owner: RequestOwner, opts: RequestOptions | undefined, syscall: string,
  start: (cb: Callback) => void): Promise<number> {
  const signal = opts?.signal;
  if (signal?.aborted) {
    owner._settled();
    return Promise.reject(abortError(signal));
  }
  if (opts?.flags) {
    owner._settled();
    return Promise.reject(new AioError(95, syscall, 'per-request RWF flags need the aio engine; the thread pool cannot pass them'));
  }
  return new Promise<number>((resolve, reject) => {
    const w: Watched = { settled: false, reject };
    if (signal) aborts.add(signal, w);
    start((err, n) => {
      if (signal) aborts.delete(signal, w);
      // Settle first, then tell the file, as the aio engine does: the
      // caller's reactions to this request run before a close() waiting on
      // it goes on to close the fd.
      if (!w.settled) {
        w.settled = true;
        if (err) reject(new AioError(-(err.errno ?? -5), syscall));
        else resolve(n ?? 0);
      }
      owner._settled();
    });
  });
}
