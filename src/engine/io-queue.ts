import { EAGAIN, EBADF, EOPNOTSUPP } from '../core/errno.js';
import { Opcode, RWF } from '../core/constants.js';
import { AioError } from '../core/errors.js';
import { ContextCore, RESFD, checkReapOption, type StagedRequest } from '../core/context-core.js';
import { URING_FALLOCATE } from '../core/uring.js';
import { argTypeError, argValueError, checkCount, isOnResizableMemory, shown } from '../core/validate.js';
import { encodeIoPriority } from '../core/ioprio.js';
import { OP_SYSCALLS, abortError, refuse, type Engine, type EngineData, type EngineOp, type Release, type RequestOptions } from './backend.js';
import { AbortWatch } from './abort-watch.js';
import { RETRYABLE_FLAGS, submitBlocking, takesNowait } from './blocking-fallback.js';
import { Fifo } from './fifo.js';
import { defaultQueueEngine } from './select.js';

/** The kernel interfaces an {@link IoQueue} can drive. */
export type QueueEngine = 'aio' | 'uring';

/** Options of {@link IoQueue}. */
export interface IoQueueOptions {
  /**
   * `'aio'`: Linux AIO (io_setup, io_submit). `'uring'`: io_uring, which
   * also runs buffered I/O without blocking (Linux 5.11+, where
   * kernel.io_uring_disabled and seccomp allow it), so needs no RWF_NOWAIT
   * retry on the thread pool. Default: `'uring'` where LINUX_AIO_ENGINE is
   * `uring`, else `'aio'` (and `'aio'` for `reap: 'syscall'`).
   */
  engine?: QueueEngine;
  /** The most requests in flight at once; more wait in a FIFO (default 128). */
  depth?: number;
  /** `'syscall'` forces io_getevents instead of the user-space ring (see `IoContextOptions.reap`); aio only. */
  reap?: 'auto' | 'syscall';
  /**
   * Deliver the completions that are already in the ring when io_submit
   * returns (tmpfs, the page cache, a fast device) in the same turn, without
   * waiting for the eventfd and a trip round the event loop (default true).
   * `false` always waits for the event loop: a request then stays in flight
   * at least until the next turn, whatever the device.
   */
  reapInline?: boolean;
}

/** Counters of an {@link IoQueue}. */
export interface IoQueueStats {
  /** Requests the kernel accepted. */
  submitted: number;
  /** Requests whose completion was reaped. */
  completed: number;
  /** Requests in the kernel now. */
  inFlight: number;
  /** Requests waiting for room under the depth limit. */
  queued: number;
  /** io_submit (io_uring_enter) calls. */
  submitCalls: number;
  /** Reaps (user-space ring reads or io_getevents calls). */
  reapCalls: number;
  /** Submits the kernel refused in part or whole for want of room. */
  eagain: number;
  /**
   * Completions found in the ring as their io_submit returned and delivered
   * in the same turn, without an eventfd wake-up (tmpfs, the page cache).
   */
  completedInline: number;
  /**
   * Requests the kernel answered `EAGAIN` under the queue's own `RWF_NOWAIT`
   * (it would have slept inside io_submit: block allocation, dirty page
   * cache, uncached metadata) and that were run again on the thread pool.
   */
  fellBack: number;
  /**
   * Reads and writes submitted without the eventfd: their file's transfers
   * were found complete when io_submit returned, many in a row (tmpfs, holes,
   * the page cache), so the submit reaps them itself and the kernel is spared
   * an eventfd and epoll wake-up per request. A file stops for good at the
   * first such transfer found still running.
   */
  submittedQuiet: number;
  /**
   * Reads and writes that went with a registered buffer
   * (IORING_OP_READ_FIXED/WRITE_FIXED; see {@link IoQueue.registerBuffers}).
   * Always 0 on Linux AIO.
   */
  fixedBuffers: number;
  /**
   * Requests on a file opened with `registerFile: true`, which went with
   * IOSQE_FIXED_FILE (io_uring's file table). Always 0 on Linux AIO.
   */
  fixedFiles: number;
}

/**
 * What the queue has learnt about one file: whether its file system takes
 * `RWF_NOWAIT` (tmpfs, for one, refuses it with EOPNOTSUPP), and whether its
 * reads and writes complete inside io_submit (tmpfs, the page cache).
 */
interface FileRoute {
  nowait: boolean;
  /** Its transfers go without an eventfd: the submit that makes them reaps them. */
  quiet: boolean;
  /** Transfers in a row that were complete when their submit returned. */
  inlineStreak: number;
  /** One quiet transfer was not complete at its submit's return: never quiet again. */
  quietRefused: boolean;
  /** io_uring: the file's index in the ring's file table while registered, else -1. */
  fixedFile: number;
}

/** The requests of one submitMany: they settle together and are released once. */
class Batch {
  readonly results: number[];
  /** Requests not yet settled, and not yet finished (out of the kernel). */
  unsettled: number;
  unfinished: number;
  error: unknown = undefined;
  errorAt = Infinity;
  resolve: (v: number[]) => void = noop;
  reject: (e: unknown) => void = noop;
  readonly release: Release;

  constructor(n: number, release: Release) {
    this.results = new Array<number>(n).fill(0);
    this.unsettled = n;
    this.unfinished = n;
    this.release = release;
  }
}

const noop = (): void => {};

/**
 * What one completion of a request whose submit reaped inline says of its
 * file: found at once (`inline`) counts towards going quiet; found later
 * means the file's transfers can take time, and a quiet file stops for good.
 */
function learnQuiet(req: Request, inline: boolean): void {
  const route = req.route!;
  if (route.quietRefused) return;
  if (inline) {
    if (++route.inlineStreak >= QUIET_AFTER) route.quiet = true;
    return;
  }
  route.inlineStreak = 0;
  if (req.quiet) {
    route.quiet = false;
    route.quietRefused = true;
  }
}

/** The request's I/O priority packed for the kernel, or -1 for none. */
function reqprioOf(opts: RequestOptions | undefined): number {
  return opts?.priority === undefined ? -1 : encodeIoPriority(opts.priority).value;
}

/** A request on its way through the queue; pooled and reused. */
class Request implements StagedRequest {
  opcode = 0;
  fd = 0;
  buf: EngineData = undefined;
  position = 0;
  rwFlags = 0;
  /** The flags staged: rwFlags, with RWF_NOWAIT when `nowait`. */
  kernelFlags = 0;
  /** RESFD.NONE when `quiet`, else RESFD.CONTEXT. */
  resfd: number = RESFD.CONTEXT;
  route: FileRoute | undefined = undefined;
  /** Submitted with the queue's own RWF_NOWAIT: an EAGAIN means "run it where it may block". */
  nowait = false;
  /** aio_reqprio, or -1 for none. */
  reqprio = -1;
  /** The row's AUX: fallocate's length. */
  aux = 0;
  /** Its file's index in the ring's file table, or -1 (taken from its route at staging). */
  fixedFile = -1;
  /** Submitted by a submit that reaps inline, so a completion found later means it was not instant. */
  triedInline = false;
  /** Submitted without the eventfd (see FileRoute.quiet). */
  quiet = false;
  /** Its slot while in the kernel, for a cancel. */
  slot = -1;
  release: Release | undefined = undefined;
  resolve: ((v: number) => void) | undefined = undefined;
  reject: ((e: unknown) => void) | undefined = undefined;
  /** The signal it is watched on, until it settles. */
  signal: AbortSignal | undefined = undefined;
  /** The promise already settled (aborted); the kernel request may still run. */
  settled = false;
  inKernel = false;
  /** Where it sits in the FIFO, for removal on abort. */
  ticket = 0;
  /** The batch it belongs to (submitMany), and its index there. */
  batch: Batch | undefined = undefined;
  index = 0;
}

/** The syscall an error names, by engine and opcode. */
const OP_NAMES: Record<QueueEngine, Record<number, string>> = {
  aio: {
    [Opcode.PREAD]: 'io_submit(pread)',
    [Opcode.PWRITE]: 'io_submit(pwrite)',
    [Opcode.PREADV]: 'io_submit(preadv)',
    [Opcode.PWRITEV]: 'io_submit(pwritev)',
    [Opcode.FSYNC]: 'io_submit(fsync)',
    [Opcode.FDSYNC]: 'io_submit(fdsync)',
  },
  uring: {
    ...Object.fromEntries(Object.entries(OP_SYSCALLS).map(([op, call]) => [op, `io_uring(${call})`])),
    [URING_FALLOCATE]: 'io_uring(fallocate)',
  },
};

const threadDefaults: Record<QueueEngine, IoQueue | undefined> = { aio: undefined, uring: undefined };
let engineOf: (queue: IoQueue) => Engine;

/**
 * The engine side of `queue` for one file, for the file layer; not reachable
 * from the package root. Each call makes a new one: it carries what the
 * queue learns about that file.
 */
export function queueEngine(queue: IoQueue): Engine {
  return engineOf(queue);
}

/**
 * The most completions delivered in the turn whose submit found them in the
 * ring, before the queue lets the event loop come round. A chain of reads
 * that always complete inside io_submit (tmpfs, the page cache) would else
 * run from one submit to the next without end, and timers and other I/O
 * would starve. 128 such reads take well under a millisecond.
 */
const INLINE_BUDGET = 128;

/**
 * Transfers of a file found complete at their submit's return, in a row,
 * after which the file's transfers go without the eventfd. Signalling it
 * costs the kernel an eventfd and an epoll wake-up per request (about a tenth
 * of a 4k read on tmpfs), for completions the submit reaps itself.
 */
const QUIET_AFTER = 64;

/**
 * How long a quiet transfer that did not complete inside its submit waits
 * for the next look at the ring, when nothing else wakes the queue. It
 * happens at most once per file: the file is never quiet again.
 */
const QUIET_MISS_POLL_MS = 1;

/**
 * The engine behind `AioFile` on Linux AIO or io_uring: one context (or
 * ring), shared by any number of files. Requests made in the same tick go to
 * the kernel in one io_submit (io_uring_enter); at most `depth` are in flight
 * and the rest wait in order, so the caller never sees EAGAIN from a full
 * ring; completions are reaped in bulk from the user-space ring when the
 * context's eventfd fires.
 *
 * The guide's advice is one context per thread: {@link IoQueue.default}
 * gives each thread its own, made on first use.
 */
export class IoQueue {
  /** The most requests in flight at once. */
  readonly depth: number;
  /** The kernel interface it drives. */
  readonly engine: QueueEngine;
  readonly #opNames: Record<number, string>;
  readonly #core: ContextCore;
  readonly #pending = new Fifo<Request>();
  /** The requests of the batch being staged. */
  readonly #batch: Request[] = [];
  readonly #pool: Request[] = [];
  readonly #aborts = new AbortWatch<Request>((req, signal) => this.#abort(req, signal));
  #flushScheduled = false;
  #closed = false;
  readonly #reapInline: boolean;
  /** Completions delivered inline since the event loop last woke us. */
  #inlineDelivered = 0;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;
  /** Requests on the thread pool after an EAGAIN, which close() waits for too. */
  #fallingBack = 0;
  #fellBack = 0;
  /** Quiet transfers in the kernel, whose completion signals no eventfd. */
  #quietInFlight = 0;
  #submittedQuiet = 0;
  #quietPoll: NodeJS.Timeout | undefined;
  readonly #flush = (): void => this.#submitPending();
  #nextResolve: ((v: number) => void) | undefined;
  #nextReject: ((e: unknown) => void) | undefined;
  readonly #executor = (resolve: (v: number) => void, reject: (e: unknown) => void): void => {
    this.#nextResolve = resolve;
    this.#nextReject = reject;
  };
  static {
    engineOf = (queue) => queue.#fileEngine();
  }

  /**
   * Makes a queue with its own AIO context, or io_uring instance.
   * @throws AioError `EAGAIN` when `/proc/sys/fs/aio-max-nr` is exhausted;
   *   for io_uring `EPERM`/`ENOSYS`/`ENOMEM` (with a hint) where it is not allowed
   */
  constructor(options: IoQueueOptions = {}) {
    if (options === null || typeof options !== 'object') throw argTypeError('options must be an object');
    const engine = options.engine ?? (options.reap === 'syscall' ? 'aio' : defaultQueueEngine());
    if (engine !== 'aio' && engine !== 'uring') {
      throw argValueError(`options.engine must be 'aio' or 'uring', got ${shown(options.engine)}`);
    }
    if (engine === 'uring' && options.reap === 'syscall') {
      throw argValueError("options.reap 'syscall' applies to the aio engine; io_uring completions are always read in user space");
    }
    checkReapOption(options.reap);
    if (options.reapInline !== undefined && typeof options.reapInline !== 'boolean') {
      throw argTypeError(`options.reapInline must be a boolean, got ${typeof options.reapInline}`);
    }
    this.#reapInline = options.reapInline ?? true;
    const depth = checkCount(options.depth ?? 128, 'depth', 1, 65536);
    this.#core = new ContextCore(depth, options.reap === 'syscall', () => this.#onNotify(), engine);
    this.depth = Math.min(depth, this.#core.capacity);
    this.engine = engine;
    this.#opNames = OP_NAMES[engine];
  }

  /**
   * This thread's shared queue for `engine` (depth 128), made on first use.
   * `engine` defaults as in {@link IoQueueOptions.engine}.
   */
  static default(engine: QueueEngine = defaultQueueEngine()): IoQueue {
    const q = threadDefaults[engine];
    if (q && !q.#closed) return q;
    return (threadDefaults[engine] = new IoQueue({ engine }));
  }

  /** `'ring'` when completions are read in user space, else `'syscall'`. */
  get reapMode(): 'ring' | 'syscall' {
    return this.#core.ringReap ? 'ring' : 'syscall';
  }

  /** The queue's counters. */
  stats(): IoQueueStats {
    const c = this.#core.counters;
    return {
      submitted: c.submitted, completed: c.completed, inFlight: this.#core.inFlight,
      queued: this.#pending.length, submitCalls: c.submitCalls, reapCalls: c.reapCalls, eagain: c.eagain,
      completedInline: c.completedInline, fellBack: this.#fellBack, submittedQuiet: this.#submittedQuiet,
      fixedBuffers: this.#core.fixedRequests, fixedFiles: this.#core.fixedFileRequests,
    };
  }

  /**
   * Registers memory with this queue's io_uring ring
   * (`IORING_REGISTER_BUFFERS`), so that the kernel pins and maps it once
   * instead of at every request: from then on a `read` or `write` whose
   * buffer lies wholly inside one of `buffers` goes as
   * `IORING_OP_READ_FIXED`/`WRITE_FIXED` (counted in
   * `stats().fixedBuffers`); any other buffer goes as before. Vectored
   * requests are never fixed.
   *
   * The ring keeps each buffer's ArrayBuffer reachable until the queue is
   * closed, since the kernel could otherwise write into memory the garbage
   * collector has given to something else. A buffer transferred away
   * (`postMessage`) is no longer used fixed. Once per queue, with nothing in
   * flight; the registration lasts until `close()`.
   *
   * @param buffers - from 1 to 1024 non-empty views (`allocAligned`
   *   buffers, say, or one large one that a program cuts into pieces), each
   *   at most 1 GiB, on fixed-length memory
   * @returns how many buffers were registered
   * @throws TypeError on a Linux AIO queue (it has no registered buffers),
   *   for a value that is not a view, a detached one, or resizable or
   *   growable memory; RangeError for the count or a size out of range;
   *   AioError `EBUSY` when buffers are registered already or requests are
   *   in flight, `ENOMEM` when the memory cannot be locked (RLIMIT_MEMLOCK)
   * @example
   * ```ts
   * const queue = new IoQueue({ engine: 'uring' });
   * const arena = allocAligned(64 * 4096);
   * queue.registerBuffers([arena]);
   * const file = await open('/var/tmp/data', 'r', { queue });
   * await file.read(arena.subarray(0, 4096), 0); // READ_FIXED
   * ```
   */
  registerBuffers(buffers: readonly ArrayBufferView[]): number {
    if (this.engine !== 'uring') {
      throw argTypeError(`registerBuffers needs an io_uring queue (engine 'uring'): Linux AIO has no registered buffers`);
    }
    if (!Array.isArray(buffers)) throw argTypeError(`buffers must be an array of views, got ${shown(buffers)}`);
    const views = buffers.map((b, i) => {
      if (!ArrayBuffer.isView(b)) throw argTypeError(`buffers[${i}] must be a TypedArray, Buffer or DataView, got ${shown(b)}`);
      if (isOnResizableMemory(b)) {
        throw argTypeError(`buffers[${i}] is on resizable memory, whose pages could change under the registration`);
      }
      return b;
    });
    if (this.#closed) throw new AioError(EBADF, 'io_uring_register', 'the queue is closed');
    return this.#core.registerBuffers(views);
  }

  /** True once {@link close} was called: new requests reject, and `open()` refuses the queue. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits for every request in flight or queued, then destroys the context.
   * Requests made afterwards reject. Every call resolves only after that
   * drain, the second as the first.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#drainAndDestroy();
    return this.#closing;
  }

  async #drainAndDestroy(): Promise<void> {
    if (!this.#idle()) {
      await new Promise<void>((resolve) => (this.#onDrained = resolve));
    }
    this.#core.destroy();
  }

  /** Lets a pending close() go on once nothing is queued or in flight. */
  #checkDrained(): void {
    if (!this.#onDrained || !this.#idle()) return;
    const resolve = this.#onDrained;
    this.#onDrained = undefined;
    resolve();
  }

  #idle(): boolean {
    return this.#pending.length === 0 && this.#core.inFlight === 0 && this.#fallingBack === 0;
  }

  /**
   * One file's view of the queue. io_uring needs no RWF_NOWAIT: it never
   * sleeps in io_uring_enter, and runs what would block in its own workers.
   */
  #fileEngine(): Engine {
    const route: FileRoute = {
      nowait: this.engine === 'aio', quiet: false, inlineStreak: 0, quietRefused: this.engine !== 'aio', fixedFile: -1,
    };
    const engine: Engine = {
      name: this.engine,
      submit: (op, fd, data, position, opts, release) => this.#enqueue(op, fd, data, position, opts, release, route),
      submitMany: (ops, fd, datas, positions, opts, release) => this.#enqueueMany(ops, fd, datas, positions, opts, release, route),
    };
    // The row of a fallocate carries the mode as its RW flags and the length as its AUX.
    if (this.engine === 'uring') {
      engine.allocate = (fd, mode, offset, length, release) =>
        this.#enqueue(URING_FALLOCATE, fd, undefined, offset, { flags: mode }, release, route, length);
      // The table entry is this file's alone, found by index, never by fd:
      // another file that gets the same fd number reaches its own file.
      engine.registerFile = (fd) => void (route.fixedFile = this.#core.registerFile(fd));
      engine.unregisterFile = () => {
        const index = route.fixedFile;
        route.fixedFile = -1;
        if (index >= 0) this.#core.unregisterFile(index);
      };
    }
    return engine;
  }

  #enqueue(opcode: number, fd: number, buf: EngineData, position: number, opts: RequestOptions | undefined,
    release: Release, route: FileRoute, aux = 0): Promise<number> {
    if (this.#closed) return refuse(release, new AioError(EBADF, this.#opNames[opcode]!, 'the IoQueue is closed'));
    const signal = opts?.signal;
    if (signal?.aborted) return refuse(release, abortError(signal));
    const req = this.#pool.pop() ?? new Request();
    req.release = release;
    const promise = new Promise<number>(this.#executor);
    req.resolve = this.#nextResolve;
    req.reject = this.#nextReject;
    // The priority was checked by the file layer already; here only packed.
    this.#queue(req, opcode, fd, buf, position, opts?.flags ?? 0, signal, route, reqprioOf(opts), aux);
    this.#scheduleFlush();
    return promise;
  }

  /** Many requests, one promise, one release: no promise or closure per request. */
  #enqueueMany(ops: readonly EngineOp[], fd: number, datas: readonly EngineData[], positions: readonly number[],
    opts: RequestOptions | undefined, release: Release, route: FileRoute): Promise<number[]> {
    if (this.#closed) return refuse(release, new AioError(EBADF, this.#opNames[ops[0] ?? Opcode.PREAD]!, 'the IoQueue is closed'));
    const signal = opts?.signal;
    if (signal?.aborted) return refuse(release, abortError(signal));
    const n = ops.length;
    if (n === 0) {
      release();
      return Promise.resolve([]);
    }
    const batch = new Batch(n, release);
    const promise = new Promise<number[]>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    const flags = opts?.flags ?? 0;
    const reqprio = reqprioOf(opts);
    for (let i = 0; i < n; i++) {
      const req = this.#pool.pop() ?? new Request();
      req.batch = batch;
      req.index = i;
      this.#queue(req, ops[i]!, fd, datas[i], positions[i]!, flags, signal, route, reqprio);
    }
    this.#scheduleFlush();
    return promise;
  }

  #queue(req: Request, opcode: number, fd: number, buf: EngineData, position: number, rwFlags: number,
    signal: AbortSignal | undefined, route: FileRoute, reqprio: number, aux = 0): void {
    req.opcode = opcode;
    req.aux = aux;
    req.fd = fd;
    req.buf = buf;
    req.position = position;
    req.rwFlags = rwFlags;
    req.route = route;
    req.reqprio = reqprio;
    if (signal) this.#watchAbort(req, signal);
    req.ticket = this.#pending.push(req);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // nextTick runs after the promise continuations of this turn, so the
    // follow-up requests they make join the same io_submit.
    process.nextTick(this.#flush);
  }

  #watchAbort(req: Request, signal: AbortSignal): void {
    req.signal = signal;
    this.#aborts.add(signal, req);
  }

  /** `signal` fired while `req` was queued or in the kernel. */
  #abort(req: Request, signal: AbortSignal): void {
    if (req.settled) return;
    req.signal = undefined; // the watch has already let go of it
    const queued = !req.inKernel && this.#pending.remove(req, req.ticket);
    // io_uring can stop a request that has not started (a read queued
    // behind others on the device, say): ask it to, so the request, which
    // completes either way, ends sooner.
    if (req.inKernel && this.engine === 'uring') this.#core.cancel(req.slot);
    this.#settle(req, undefined, abortError(signal));
    // A queued request never reached the kernel: it is done with now. One
    // in the kernel is finished (and its buffer unpinned) at its completion.
    if (queued) {
      this.#finish(req);
      this.#checkDrained();
    }
  }

  #submitPending(): void {
    this.#flushScheduled = false;
    const core = this.#core;
    if (core.destroyed) return;
    while (this.#pending.length > 0) {
      // A request retried on the thread pool is still in flight: the depth holds for it too.
      const room = Math.min(this.depth - core.inFlight - this.#fallingBack, core.available, this.#pending.length);
      if (room <= 0) break;
      const batch = this.#batch;
      this.#pending.front(room, batch);
      const reapNow = this.#reapInline && this.#inlineDelivered < INLINE_BUDGET;
      for (let i = 0; i < room; i++) {
        const req = batch[i]!;
        const route = req.route!;
        // Decided at each staging, so that once a file's refusal of NOWAIT
        // is learnt, its requests already queued go without it.
        const transfer = takesNowait(req.opcode);
        req.nowait = route.nowait && (req.rwFlags & ~RETRYABLE_FLAGS) === 0 && transfer;
        req.triedInline = reapNow;
        // Only a submit that reaps may go without the eventfd (a sync runs
        // on a kernel worker, so never completes inside io_submit).
        req.quiet = reapNow && route.quiet && transfer;
        req.kernelFlags = req.nowait ? req.rwFlags | RWF.NOWAIT : req.rwFlags;
        req.resfd = req.quiet ? RESFD.NONE : RESFD.CONTEXT;
        req.fixedFile = route.fixedFile;
        req.slot = core.stage(i, req, req);
      }
      let accepted: number;
      try {
        accepted = core.submit(room, reapNow);
      } catch (err) {
        if (err instanceof AioError && err.code === 'EAGAIN') break;
        // The addon names the row whose arguments it refused (a buffer
        // detached since it was queued, say); the kernel refuses requests in
        // order, so otherwise the first one is the bad one.
        const row = (err as { row?: unknown }).row;
        const refused = batch[typeof row === 'number' && row < room ? row : 0]!;
        if (refused.nowait && err instanceof AioError && err.errno === -EOPNOTSUPP) {
          // The file system does not take RWF_NOWAIT: this file's requests
          // go without it from now on, this one included.
          refused.route!.nowait = false;
          continue;
        }
        this.#pending.remove(refused, refused.ticket);
        this.#settle(refused, undefined, err);
        this.#finish(refused);
        continue;
      }
      let quiet = 0;
      for (let i = 0; i < accepted; i++) {
        const req = this.#pending.shift()!;
        req.inKernel = true;
        if (req.quiet) quiet++;
      }
      this.#quietInFlight += quiet;
      this.#submittedQuiet += quiet;
      // Completions already in the ring (tmpfs, the page cache, a fast
      // device) are delivered now, not after an eventfd wake-up and a trip
      // round the event loop; the eventfd then finds an empty ring and wakes
      // no JavaScript.
      const inline = core.inlineReaped;
      if (inline > 0) {
        this.#inlineDelivered += inline;
        this.#deliver(inline, true);
      }
      // Fewer taken than offered: the ring is full, or the next request is
      // bad (io_submit stops at it and reports only the count). Going round
      // again finds out which at once: a bad request then fails alone and is
      // rejected, a full ring answers EAGAIN and we wait for completions.
      if (accepted === 0) break;
    }
    if (core.inFlight > 0) {
      core.arm(true);
      if (this.#quietInFlight > 0) this.#watchQuiet();
    } else {
      // Nothing in the kernel (all done inline, or every request refused):
      // stop watching, or the armed eventfd would keep the event loop alive
      // for good.
      core.arm(false);
      // A retry on the pool flushes the queue when it ends; else poll.
      if (this.#pending.length > 0) {
        if (this.#fallingBack === 0) this.#retryLater();
      } else {
        this.#checkDrained();
      }
    }
  }

  /** The kernel refused everything with nothing in flight to wait for: try again shortly. */
  #retryLater(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setTimeout(this.#flush, 1);
  }

  /**
   * A quiet transfer was not complete when its submit returned, and no
   * eventfd will say when it is: look at the ring shortly, and again until
   * every quiet one is reaped. The file has already stopped being quiet.
   */
  #watchQuiet(): void {
    if (this.#quietPoll) return;
    this.#quietPoll = setTimeout(() => {
      this.#quietPoll = undefined;
      if (this.#core.destroyed) return;
      this.#onNotify();
      if (this.#quietInFlight > 0) this.#watchQuiet();
    }, QUIET_MISS_POLL_MS);
  }

  #onNotify(): void {
    const core = this.#core;
    this.#inlineDelivered = 0;
    for (;;) {
      const n = core.reap(0, core.capacity, 0);
      this.#deliver(n, false);
      if (n < core.capacity) break;
    }
    if (this.#pending.length > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    } else if (core.inFlight === 0) {
      core.arm(false);
      this.#checkDrained();
    }
  }

  /**
   * Settles the requests of the `n` completion rows the last reap wrote, in
   * ring order; `inline` when the submit that made them reaped them.
   */
  #deliver(n: number, inline: boolean): void {
    const core = this.#core;
    for (let i = 0; i < n; i++) {
      const slot = core.eventSlot(i);
      const req = core.ownerOf(slot) as Request;
      const res = core.eventRes(i);
      core.release(slot);
      req.inKernel = false;
      if (req.quiet) this.#quietInFlight--;
      if (req.triedInline) learnQuiet(req, inline);
      if (res === -EAGAIN && req.nowait && !req.settled) {
        this.#fallBack(req);
        continue;
      }
      if (!req.settled) {
        if (res >= 0) this.#settle(req, res, undefined);
        else this.#settle(req, undefined, new AioError(-res, this.#opNames[req.opcode]!));
      }
      this.#finish(req);
    }
  }

  /**
   * Runs on the thread pool a request the kernel would have slept for. Its
   * record lives until both the pool has settled it and let go of its
   * memory; an abort meanwhile settles the caller's promise at once, as on
   * the kernel path.
   */
  #fallBack(req: Request): void {
    this.#fellBack++;
    this.#fallingBack++;
    let outstanding = 2;
    const done = (): void => {
      if (--outstanding > 0) return;
      this.#fallingBack--;
      this.#finish(req);
      if (this.#pending.length > 0) this.#scheduleFlush();
      else this.#checkDrained();
    };
    submitBlocking(req.opcode as EngineOp, req.fd, req.buf, req.position, req.rwFlags, done).then(
      (n) => {
        if (!req.settled) this.#settle(req, n, undefined);
        done();
      },
      (err: unknown) => {
        if (!req.settled) this.#settle(req, undefined, err);
        done();
      },
    );
  }

  #settle(req: Request, value: number | undefined, err: unknown): void {
    req.settled = true;
    if (req.signal) {
      this.#aborts.delete(req.signal, req);
      req.signal = undefined;
    }
    const batch = req.batch;
    if (batch) {
      if (err === undefined) batch.results[req.index] = value!;
      else if (req.index < batch.errorAt) {
        batch.errorAt = req.index;
        batch.error = err;
      }
      if (--batch.unsettled === 0) {
        if (batch.errorAt === Infinity) batch.resolve(batch.results);
        else batch.reject(batch.error);
      }
      return;
    }
    if (err === undefined) req.resolve!(value!);
    else req.reject!(err);
    req.resolve = undefined;
    req.reject = undefined;
  }

  /** The request is out of the kernel for good: release it to its file, and reuse the record. */
  #finish(req: Request): void {
    const batch = req.batch;
    if (batch) {
      if (--batch.unfinished === 0) batch.release();
      req.batch = undefined;
    } else {
      req.release!();
    }
    req.buf = undefined;
    req.route = undefined;
    req.release = undefined;
    req.settled = false;
    if (this.#pool.length < 1024) this.#pool.push(req);
  }
}
