/**
 * Request opcodes, with the kernel's values (`IOCB_CMD_*` in linux/aio_abi.h).
 * `IOCB_CMD_NOOP` (6) is not here: the kernel has never implemented it and
 * refuses it with `EINVAL`, so no `Iocb` can be prepared with it.
 */
export const Opcode = {
  PREAD: 0,
  PWRITE: 1,
  FSYNC: 2,
  FDSYNC: 3,
  POLL: 5,
  PREADV: 7,
  PWRITEV: 8,
} as const;
/** One of the {@link Opcode} values. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/**
 * Per-request flags for reads and writes, with the kernel's values
 * (`RWF_*` in linux/fs.h). Set them through `Iocb.rwFlags` or a request's
 * `flags` option. A flag the running kernel does not know fails the request
 * with `EOPNOTSUPP`.
 */
export const RWF = {
  /**
   * High-priority (polled) request. Linux AIO accepts the flag and ignores
   * it (fs/aio.c clears it, as nothing would poll for the completion); only
   * io_uring with IORING_SETUP_IOPOLL polls.
   */
  HIPRI: 0x01,
  /** Per-request O_DSYNC: the data is durable when the write completes. */
  DSYNC: 0x02,
  /** Per-request O_SYNC: data and metadata are durable when the write completes. */
  SYNC: 0x04,
  /** Fail with EAGAIN instead of blocking (for example on a page-cache miss). */
  NOWAIT: 0x08,
  /** Per-request O_APPEND. */
  APPEND: 0x10,
  /** Ignore O_APPEND for this write (Linux 6.9). */
  NOAPPEND: 0x20,
  /** Untorn write (Linux 6.11). */
  ATOMIC: 0x40,
  /** Buffered I/O that drops the page cache after use (Linux 6.14). */
  DONTCACHE: 0x80,
} as const;

/** Poll events for `Iocb.prepPoll`, with the kernel's values. */
export const POLL = {
  IN: 0x001,
  PRI: 0x002,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  RDNORM: 0x040,
  WRNORM: 0x100,
  RDHUP: 0x2000,
} as const;
