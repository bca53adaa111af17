import { readFileSync } from 'node:fs';
import { EAGAIN, EBUSY, EINPROGRESS, EINVAL } from '../core/errno.js';
import { AioError } from '../core/errors.js';
import { argRangeError, argTypeError, checkCount, checkTimeout } from '../core/validate.js';
import { ContextCore, checkReapOption, type StagedRequest } from '../core/context-core.js';
import { Iocb } from './iocb.js';

/** The longest delay a Node timer holds (setTimeout fires after 1 ms beyond it). */
const MAX_TIMER_MS = 0x7fffffff;

/** A completion, libaio's `struct io_event`. */
export interface IoEvent {
  /** The `data` of the request's Iocb. */
  data: unknown;
  /** The Iocb that completed. */
  obj: Iocb;
  /** The result: bytes transferred, poll events, 0, or a negative errno. */
  res: number;
  /** The secondary result (0 for files). */
  res2: number;
}

/** Options of {@link IoContext.setup}. */
export interface IoContextOptions {
  /**
   * Where completions are read from: `'auto'` (default) reads the kernel's
   * completion ring in user space and falls back to the syscall;
   * `'syscall'` always calls io_getevents. The environment variable
   * `LINUX_AIO_REAP=syscall` forces the syscall for every context.
   */
  reap?: 'auto' | 'syscall';
}

interface Waiter {
  minNr: number;
  nr: number;
  got: IoEvent[];
  resolve: (events: IoEvent[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A Linux AIO context (`io_context_t`): the libaio function family, one to
 * one. Make one per thread; each worker thread has its own.
 *
 * @example
 * ```ts
 * using ctx = IoContext.setup(128);
 * const cb = new Iocb().prepPread(fd, allocAligned(4096), 0);
 * ctx.submit([cb]);
 * const [ev] = await ctx.waitEvents(1, 1);
 * ```
 */
/**
 * An Iocb's fields under the names the core stages, copied into one record
 * that each context reuses: nothing is allocated per submit, and the core
 * sees this one class from here.
 */
class IocbRow implements StagedRequest {
  opcode = 0;
  fd = 0;
  position = 0;
  buf: unknown = undefined;
  kernelFlags = 0;
  resfd = -1;
  reqprio = -1;
  aux = 0;
  /** Raw rows never use an io_uring file table. */
  readonly fixedFile = -1;

  of(cb: Iocb): this {
    this.opcode = cb.opcode;
    this.fd = cb.fd;
    this.position = cb.offset;
    this.buf = cb._pin;
    this.kernelFlags = cb.rwFlags;
    this.resfd = cb.eventfd;
    this.reqprio = cb._ioprio;
    this.aux = cb.pollEvents;
    return this;
  }
}

export class IoContext implements Disposable {
  readonly #core: ContextCore;
  readonly #row = new IocbRow();
  readonly #waiters: Waiter[] = [];

  private constructor(maxEvents: number, options: IoContextOptions) {
    this.#core = new ContextCore(maxEvents, options.reap === 'syscall', () => this.#onNotify());
  }

  /**
   * io_setup: creates a context whose completion queue holds `maxEvents`.
   * @throws AioError `EAGAIN` when the system-wide `/proc/sys/fs/aio-max-nr`
   * would be exceeded (the hint names the sysctl and the current `aio-nr`).
   */
  static setup(maxEvents: number, options: IoContextOptions = {}): IoContext {
    checkCount(maxEvents, 'maxEvents', 1, 1 << 20);
    if (options === null || typeof options !== 'object') throw argTypeError('options must be an object');
    checkReapOption(options.reap);
    try {
      return new IoContext(maxEvents, options);
    } catch (err) {
      if (err instanceof AioError && err.code === 'EAGAIN') throw aioLimitError();
      throw err;
    }
  }

  /** The `maxEvents` given to `setup`. */
  get maxEvents(): number {
    return this.#core.maxEvents;
  }
  /**
   * The size of the kernel's completion ring (fs/aio.c doubles `maxEvents`,
   * raises it to 8 per possible CPU and rounds it up to whole pages): no
   * more requests than this can ever be in flight. The kernel always takes
   * `maxEvents`; beyond that, `submit` may take fewer than `capacity -
   * inFlight` (and answer EAGAIN) while other CPUs' per-CPU request
   * counters hold some of the free slots.
   */
  get capacity(): number {
    return this.#core.capacity;
  }
  /** Requests submitted and not yet reaped. */
  get inFlight(): number {
    return this.#core.inFlight;
  }
  /** `'ring'` when completions are read in user space, else `'syscall'`. */
  get reapMode(): 'ring' | 'syscall' {
    return this.#core.ringReap ? 'ring' : 'syscall';
  }
  /** True after `destroy()`. */
  get destroyed(): boolean {
    return this.#core.destroyed;
  }

  /**
   * io_submit: hands `iocbs` to the kernel in one system call. Returns how
   * many it accepted, from the front of the array: fewer than given when the
   * context is full, in which case submit the rest after reaping.
   * @throws AioError `EAGAIN` when none could be accepted, or the kernel's
   * error for the first request (`EBADF`, `EINVAL`, ...)
   */
  submit(iocbs: readonly Iocb[]): number {
    const core = this.#core;
    core.ensureLive();
    if (!Array.isArray(iocbs)) throw argTypeError('iocbs must be an array of Iocb');
    const count = Math.min(iocbs.length, core.available);
    if (iocbs.length > 0 && count === 0) {
      core.countEagain();
      throw new AioError(EAGAIN, 'io_submit', `the context is full (${core.capacity} in flight): reap completions first`);
    }
    for (let i = 0; i < count; i++) {
      const cb = iocbs[i];
      try {
        if (!(cb instanceof Iocb)) throw argTypeError(`iocbs[${i}] is not an Iocb`);
        if (cb.opcode === -1) throw new AioError(EINVAL, 'io_submit', `iocbs[${i}] was never prepared: call one of its prep* methods first`);
        if (cb._context !== undefined) throw new AioError(EBUSY, 'io_submit', `iocbs[${i}] is already in flight: reap its completion before submitting it again`);
      } catch (err) {
        this.#unmark(iocbs, 0, i);
        throw err;
      }
      cb._context = this;
    }
    const row = this.#row;
    for (let i = 0; i < count; i++) {
      const cb = iocbs[i]!;
      cb._slot = core.stage(i, cb, row.of(cb));
    }
    row.buf = undefined;
    let accepted: number;
    try {
      accepted = core.submit(count);
    } catch (err) {
      this.#unmark(iocbs, 0, count);
      throw err;
    }
    this.#unmark(iocbs, accepted, count);
    return accepted;
  }

  #unmark(iocbs: readonly Iocb[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const cb = iocbs[i]!;
      cb._context = undefined;
      cb._slot = -1;
    }
  }

  /**
   * io_getevents: reaps between `minNr` and `nr` completions.
   *
   * **This blocks the JavaScript thread** until `minNr` completions have
   * arrived or `timeoutMs` has passed; use {@link waitEvents} to wait
   * without blocking. `minNr = 0` never blocks. Without a timeout, waiting
   * for more completions than are in flight would never return, so it throws
   * a RangeError instead.
   * @returns 0 to `nr` events; fewer than `minNr` only if the timeout expired
   */
  getEvents(minNr: number, nr: number, timeoutMs?: number): IoEvent[] {
    this.#core.ensureLive();
    checkCount(nr, 'nr', 0);
    checkCount(minNr, 'minNr', 0, nr);
    const timeout = checkTimeout(timeoutMs);
    if (timeout < 0 && minNr > this.#core.inFlight) throw this.#foreverError(minNr);
    const out: IoEvent[] = [];
    this.#reapInto(out, minNr, nr, timeout);
    return out;
  }

  /** Waiting for more completions than there are requests in flight, without a timeout, would never end. */
  #foreverError(minNr: number): RangeError {
    return argRangeError(`minNr (${minNr}) exceeds the requests in flight (${this.#core.inFlight}) and no timeout was given: this would wait forever`);
  }

  #reapInto(out: IoEvent[], minNr: number, nr: number, timeout: number): void {
    const core = this.#core;
    const n = core.reap(minNr, Math.min(nr, core.capacity), timeout);
    for (let i = 0; i < n; i++) {
      const slot = core.eventSlot(i);
      const cb = core.ownerOf(slot) as Iocb;
      core.release(slot);
      cb._context = undefined;
      cb._slot = -1;
      out.push({ data: cb.data, obj: cb, res: core.eventRes(i), res2: core.eventRes2(i) });
    }
  }

  /**
   * The same as {@link getEvents}, as a Promise: waits on the context's
   * eventfd from the event loop, so timers and I/O go on meanwhile.
   * Resolves with `minNr` to `nr` events, or fewer when `timeoutMs` expires.
   * A timeout beyond 2^31-1 ms (about 24.8 days, the most a Node timer can
   * hold) waits without limit. Waiting without limit for more completions
   * than are in flight would never settle: it rejects with a RangeError, as
   * getEvents throws one.
   */
  waitEvents(minNr: number, nr: number, timeoutMs?: number): Promise<IoEvent[]> {
    try {
      this.#core.ensureLive();
      checkCount(nr, 'nr', 0);
      checkCount(minNr, 'minNr', 0, nr);
      const timeout = checkTimeout(timeoutMs);
      // A timeout no Node timer can hold waits without limit, as none does.
      if ((timeout < 0 || timeout > MAX_TIMER_MS) && minNr > this.#core.inFlight) throw this.#foreverError(minNr);
      const got: IoEvent[] = [];
      if (this.#waiters.length === 0) this.#reapInto(got, 0, nr, 0);
      if (got.length >= minNr || timeout === 0) return Promise.resolve(got);
      return new Promise<IoEvent[]>((resolve, reject) => {
        const waiter: Waiter = { minNr, nr, got, resolve, reject, timer: undefined };
        // setTimeout turns delays beyond 2^31-1 ms into 1 ms: such a wait is unbounded instead.
        if (timeout > 0 && timeout <= MAX_TIMER_MS) waiter.timer = setTimeout(() => this.#finish(waiter), timeout);
        this.#waiters.push(waiter);
        this.#core.arm(true);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #onNotify(): void {
    for (const w of [...this.#waiters]) {
      if (this.#core.destroyed) return;
      this.#reapInto(w.got, 0, w.nr - w.got.length, 0);
      if (w.got.length >= w.minNr) this.#finish(w);
      else break;
    }
  }

  #finish(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    if (w.timer) clearTimeout(w.timer);
    if (this.#waiters.length === 0) this.#core.arm(false);
    w.resolve(w.got);
  }

  /**
   * io_cancel: asks the kernel to cancel `iocb`. Returns true when it was
   * cancelled, false when the kernel cannot cancel it or it has already
   * completed; either way its completion still arrives through `getEvents`
   * or `waitEvents`. What Linux does, by opcode:
   *
   * - poll: cancelled; the completion's `res` is the events ready at that
   *   moment, usually 0 (not -ECANCELED).
   * - reads and writes of files and block devices, fsync, fdsync: `false`;
   *   they run to completion. (Only a few special files, such as USB gadget
   *   endpoints, can cancel a read or write, whose `res` is then their
   *   driver's choice, usually -ECANCELED.)
   * @throws AioError `EINVAL` when `iocb` is not in flight on this context
   */
  cancel(iocb: Iocb): boolean {
    this.#core.ensureLive();
    if (!(iocb instanceof Iocb)) throw argTypeError('iocb must be an Iocb');
    if (iocb._context !== this) throw new AioError(EINVAL, 'io_cancel', 'this Iocb is not in flight on this context');
    const err = this.#core.cancel(iocb._slot);
    if (err === 0 || err === EINPROGRESS) return true;
    if (err === EINVAL /* not cancellable or already done */) return false;
    throw new AioError(err, 'io_cancel');
  }

  /**
   * io_destroy: waits for the requests in flight (the kernel does not
   * abandon them), discards their completions and releases the context.
   * Pending `waitEvents` promises reject. Using the context afterwards throws.
   */
  destroy(): void {
    if (this.#core.destroyed) return;
    const inFlight = this.#core.inFlightOwners() as Iocb[];
    this.#core.destroy();
    for (const cb of inFlight) {
      cb._context = undefined;
      cb._slot = -1;
    }
    for (const w of this.#waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(new AioError(EINVAL, 'io_destroy', 'the context was destroyed while waiting'));
    }
  }

  /** Same as {@link destroy}, for `using`. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  /** Counters of this context's submits and reaps. */
  stats(): { submitted: number; completed: number; inFlight: number; submitCalls: number; reapCalls: number; eagain: number } {
    const c = this.#core.counters;
    return { submitted: c.submitted, completed: c.completed, inFlight: this.#core.inFlight, submitCalls: c.submitCalls, reapCalls: c.reapCalls, eagain: c.eagain };
  }
}

function aioLimitError(): AioError {
  const read = (name: string): string => {
    try {
      return readFileSync(`/proc/sys/fs/${name}`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  return new AioError(EAGAIN, 'io_setup',
    `the system-wide limit on AIO events is reached: /proc/sys/fs/aio-nr is ${read('aio-nr')} of /proc/sys/fs/aio-max-nr ${read('aio-max-nr')}; raise it (sysctl fs.aio-max-nr=N) or destroy contexts you no longer use`);
}
