import { EBUSY } from '../core/errno.js';
import { Opcode } from '../core/constants.js';
import { AioError } from '../core/errors.js';
import { encodeIoPriority, type IoPriority } from '../core/ioprio.js';
import { checkCount, checkFd, checkOffset, checkView, checkViews } from '../core/validate.js';

const UNPREPARED = -1;

/**
 * One I/O request, libaio's `struct iocb`. Prepare it with one of the
 * `prep*` methods (which reset `rwFlags`, `priority` and the eventfd but
 * keep `data`, as libaio's `io_prep_*` clear the whole iocb but for it),
 * submit it with `IoContext.submit`, and find it again as `IoEvent.obj`.
 *
 * While it is in flight it cannot be prepared or submitted again, and the
 * memory it points at stays pinned until its completion is reaped.
 */
export class Iocb {
  /** Anything of yours, returned as `IoEvent.data` (libaio's `data`). */
  data: unknown = undefined;
  #rwFlags = 0;
  #opcode: number = UNPREPARED;
  #fd = -1;
  #buffer: ArrayBufferView | ArrayBufferView[] | undefined = undefined;
  #offset = 0;
  #pollEvents = 0;
  #eventfd = -1;
  #priority: Readonly<IoPriority> | undefined = undefined;
  /** @internal `aio_reqprio` with IOCB_FLAG_IOPRIO, or -1 for the process's own priority */
  _ioprio = -1;
  /** @internal the context it is in flight on */
  _context: object | undefined = undefined;
  /** @internal its slot there */
  _slot = -1;

  /**
   * True only for objects made by this class: one that merely inherits its
   * prototype (Object.create(Iocb.prototype)) has none of its fields, and
   * every use of it would fail inside the library.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && #opcode in value;
  }

  /** The prepared operation, or -1 before any `prep*` call. */
  get opcode(): Opcode | -1 {
    return this.#opcode as Opcode | -1;
  }
  /** The file descriptor of the prepared operation. */
  get fd(): number {
    return this.#fd;
  }
  /** The file offset of a read or write. */
  get offset(): number {
    return this.#offset;
  }
  /** The buffer (or, for vectored ops, the buffers) of a read or write. */
  get buffer(): ArrayBufferView | readonly ArrayBufferView[] | undefined {
    return this.#buffer;
  }
  /** The poll events of a poll request. */
  get pollEvents(): number {
    return this.#pollEvents;
  }
  /** The eventfd notified on completion, or -1 for the context's own. */
  get eventfd(): number {
    return this.#eventfd;
  }
  /** True from a successful submit until its completion is reaped. */
  get inFlight(): boolean {
    return this._context !== undefined;
  }

  /** Per-request `RWF` flags of a read or write (libaio's `aio_rw_flags`). */
  get rwFlags(): number {
    return this.#rwFlags;
  }
  set rwFlags(flags: number) {
    this.#assertIdle();
    this.#rwFlags = checkCount(flags, 'rwFlags', 0, 0xffffffff);
  }

  /**
   * The request's I/O priority (`aio_reqprio` with `IOCB_FLAG_IOPRIO`), or
   * `undefined` (the default) for the submitting thread's own, as set by
   * `ionice`. The kernel applies it to reads and writes; fsync, fdsync and
   * poll ignore it. A `'realtime'` priority without `CAP_SYS_NICE` fails the
   * submit with AioError `EPERM`.
   * @example
   * ```ts
   * cb.priority = { class: 'idle' };                  // background scrub
   * cb.priority = { class: 'best-effort', level: 0 }; // ahead of level 4
   * ```
   */
  get priority(): Readonly<IoPriority> | undefined {
    return this.#priority;
  }
  set priority(priority: IoPriority | undefined) {
    this.#assertIdle();
    if (priority === undefined) {
      this.#priority = undefined;
      this._ioprio = -1;
      return;
    }
    const checked = encodeIoPriority(priority);
    this.#priority = checked.priority;
    this._ioprio = checked.value;
  }

  /** Prepares a read of `buf.byteLength` bytes at `offset` into `buf` (io_prep_pread). */
  prepPread(fd: number, buf: ArrayBufferView, offset: number): this {
    return this.#prep(Opcode.PREAD, fd, checkView(buf), offset);
  }
  /** Prepares a write of all of `buf` at `offset` (io_prep_pwrite). */
  prepPwrite(fd: number, buf: ArrayBufferView, offset: number): this {
    return this.#prep(Opcode.PWRITE, fd, checkView(buf), offset);
  }
  /** Prepares a read at `offset` scattered into `bufs` in order (io_prep_preadv). */
  prepPreadv(fd: number, bufs: readonly ArrayBufferView[], offset: number): this {
    return this.#prep(Opcode.PREADV, fd, checkViews(bufs), offset);
  }
  /** Prepares a write at `offset` gathered from `bufs` in order (io_prep_pwritev). */
  prepPwritev(fd: number, bufs: readonly ArrayBufferView[], offset: number): this {
    return this.#prep(Opcode.PWRITEV, fd, checkViews(bufs), offset);
  }
  /** {@link prepPreadv} with per-request `RWF` flags (io_prep_preadv2). */
  prepPreadv2(fd: number, bufs: readonly ArrayBufferView[], offset: number, flags: number): this {
    const checked = checkCount(flags, 'flags', 0, 0xffffffff);
    this.prepPreadv(fd, bufs, offset);
    this.#rwFlags = checked;
    return this;
  }
  /** {@link prepPwritev} with per-request `RWF` flags (io_prep_pwritev2). */
  prepPwritev2(fd: number, bufs: readonly ArrayBufferView[], offset: number, flags: number): this {
    const checked = checkCount(flags, 'flags', 0, 0xffffffff);
    this.prepPwritev(fd, bufs, offset);
    this.#rwFlags = checked;
    return this;
  }
  /** Prepares an fsync of `fd` (io_prep_fsync). */
  prepFsync(fd: number): this {
    return this.#prep(Opcode.FSYNC, fd, undefined, 0);
  }
  /** Prepares an fdatasync of `fd` (io_prep_fdsync). */
  prepFdsync(fd: number): this {
    return this.#prep(Opcode.FDSYNC, fd, undefined, 0);
  }
  /**
   * Prepares a one-shot poll of `fd` for `events` (`POLL.IN`, ...); the
   * completion's `res` holds the events that fired (io_prep_poll).
   */
  prepPoll(fd: number, events: number): this {
    const checked = checkCount(events, 'events', 0, 0xffff);
    this.#prep(Opcode.POLL, fd, undefined, 0);
    this.#pollEvents = checked;
    return this;
  }

  /**
   * Notifies `fd` (an eventfd) on completion instead of the context's own
   * eventfd (io_set_eventfd). `IoContext.waitEvents` is woken by the
   * context's eventfd only, so use `getEvents` for such requests.
   */
  setEventfd(fd: number): this {
    this.#assertIdle();
    this.#eventfd = checkFd(fd);
    return this;
  }

  #prep(opcode: number, fd: number, buffer: ArrayBufferView | ArrayBufferView[] | undefined, offset: number): this {
    this.#assertIdle();
    checkFd(fd);
    checkOffset(offset);
    this.#opcode = opcode;
    this.#fd = fd;
    this.#buffer = buffer;
    this.#offset = offset;
    this.#pollEvents = 0;
    this.#rwFlags = 0;
    this.#eventfd = -1;
    this.#priority = undefined;
    this._ioprio = -1;
    return this;
  }

  #assertIdle(): void {
    if (this._context !== undefined) throw new AioError(EBUSY, 'io_prep', 'this Iocb is in flight: reap its completion before changing it');
  }

  /** @internal the memory the kernel will touch */
  get _pin(): ArrayBufferView | ArrayBufferView[] | undefined {
    return this.#buffer;
  }
}
