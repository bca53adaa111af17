/**
 * The kernel engine the file-level suites run on: Linux AIO, or io_uring
 * when LINUX_AIO_ENGINE=uring (test/uring/run.sh runs them so), with the
 * names its errors give.
 */
export const KERNEL_ENGINE: 'aio' | 'uring' = process.env.LINUX_AIO_ENGINE === 'uring' ? 'uring' : 'aio';

const URING_OPS: Record<string, string> = {
  pread: 'read', pwrite: 'write', preadv: 'readv', pwritev: 'writev', fsync: 'fsync', fdsync: 'fdatasync',
};

/** The syscall an AioError of `op` (io_submit's name for it: pread, pwrite, ...) names on the engine. */
export function opSyscall(op: keyof typeof URING_OPS): string {
  return KERNEL_ENGINE === 'uring' ? `io_uring(${URING_OPS[op]})` : `io_submit(${op})`;
}
