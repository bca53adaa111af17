/**
 * The machinery shared by the low-level `IoContext` and the `IoQueue` engine:
 * request slots, the command rows that cross into C in one call per batch,
 * bulk reaping, buffer pinning and the eventfd watcher.
 * @internal
 * @module
 */
import { EINVAL } from './errno.js';
import { CMD, EVT, STATUS, native, type ContextHandle } from './native.js';
import { AioError } from './errors.js';
import { argValueError, shown } from './validate.js';

export { RESFD } from './native.js';

/** The submit call's arguments before the buffers: handle, count, null, reapInline. */
const ARGS_BEFORE_BUFFERS = 4;
/** The most buffers one submit call takes as arguments (the addon's SUBMIT_SPREAD_MAX). */
const SPREAD_MAX = 128;
const NO_BUFFERS: readonly unknown[] = Object.freeze([]);

/**
 * Contexts with requests in flight. Being in this set keeps a context, and so
 * every buffer it pins, reachable until the kernel has written its last byte,
 * even when the caller has dropped every reference.
 */
const busyContexts = new Set<ContextCore>();

/**
 * The buffers of requests that a destroyed context left in the kernel: an
 * io_uring teardown that could not wait for them (native destroy said not
 * drained). The kernel may write into that memory whenever such a request
 * ends, so it is kept for the life of the process, a deliberate leak,
 * rather than handed back to a collector that could reuse it.
 */
const abandonedPins: unknown[] = [];

/** The kernel interface a core drives. */
export type CoreKernel = 'aio' | 'uring';

/** The calls that differ between the two; setup aside, the rest is shared. */
interface KernelCalls {
  submit(handle: ContextHandle, count: number, bufs: readonly unknown[] | null, reapInline: boolean, ...buffers: unknown[]): number;
  reap(handle: ContextHandle, minNr: number, nr: number, timeoutMs: number): number;
  cancel(handle: ContextHandle, slot: number): number;
}

const KERNEL_CALLS: Record<CoreKernel, KernelCalls> = {
  aio: { submit: native.submit, reap: native.reap, cancel: native.cancel },
  uring: { submit: native.uringSubmit, reap: native.uringReap, cancel: native.uringCancel },
};

/** The counters that `stats()` reports. */
export interface CoreCounters {
  submitted: number;
  completed: number;
  submitCalls: number;
  reapCalls: number;
  eagain: number;
  /** Completions reaped by the submit that made them. */
  completedInline: number;
}

/**
 * What {@link ContextCore.stage} writes into a command row, by name, so that
 * no two fields can be swapped at a call site. Each caller passes one class
 * only (IoQueue its pooled requests, IoContext one reused row per context),
 * so the loads stay monomorphic per caller and nothing is allocated per
 * request. The core reads it during the call and keeps no reference.
 */
export interface StagedRequest {
  readonly opcode: number;
  readonly fd: number;
  /** The file offset. */
  readonly position: number;
  /** The view(s) the kernel reads or writes, pinned until the slot is released. */
  readonly buf: unknown;
  /** RWF_* as submitted (the caller's, plus any the engine adds). */
  readonly kernelFlags: number;
  /** An eventfd, or RESFD.CONTEXT / RESFD.NONE. */
  readonly resfd: number;
  /** aio_reqprio, or -1 for none. */
  readonly reqprio: number;
  /** The opcode's extra argument: poll events, fallocate's length. */
  readonly aux: number;
  /**
   * io_uring: the file's index in the ring's file table ({@link ContextCore.registerFile}),
   * or -1. Only a registered file's own requests carry it; Linux AIO ignores it.
   */
  readonly fixedFile: number;
}

/**
 * The `reap` option of IoContext and IoQueue: `'syscall'` forces io_getevents
 * (the core's `forceSyscall`).
 * @throws TypeError unless it is undefined, `'auto'` or `'syscall'`
 */
export function checkReapOption(reap: unknown): void {
  if (reap !== undefined && reap !== 'auto' && reap !== 'syscall') {
    throw argValueError(`options.reap must be 'auto' or 'syscall', got ${shown(reap)}`);
  }
}

export class ContextCore {
  readonly handle: ContextHandle;
  readonly kernel: CoreKernel;
  readonly #calls: KernelCalls;
  /** How many requests may be in flight at once (the kernel's true ring size). */
  readonly capacity: number;
  readonly maxEvents: number;
  /** True when completions are read from the ring in user space. */
  readonly ringReap: boolean;
  /** Rows written before `submit`: CMD.STRIDE doubles per request. */
  readonly #cmd: Float64Array;
  /** Rows written by `reap`: EVT.STRIDE doubles per completion. */
  readonly #events: Float64Array;
  readonly #status: Float64Array;
  /**
   * The submit call's arguments, reused for every batch: (handle, count,
   * null, reapInline), then the batch's buffers by row. Passing them as
   * arguments spares the addon a Node-API element read per request, its
   * dearest step; past {@link SPREAD_MAX} rows they go as one array.
   */
  readonly #args: unknown[];
  /** What each slot belongs to while in flight. */
  readonly #owners: unknown[];
  /** The memory each slot's request points at, pinned until reaped. */
  readonly #pins: unknown[];
  readonly #freeSlots: Int32Array;
  #freeTop: number;
  #inFlight = 0;
  #inlineReaped = 0;
  #destroyed = false;
  readonly #counters: CoreCounters = { submitted: 0, completed: 0, submitCalls: 0, reapCalls: 0, eagain: 0, completedInline: 0 };
  #armed = false;

  /**
   * The completion callback. C holds it weakly, so that a context nobody
   * references can be collected (and its kernel context destroyed by the
   * finalizer); this field keeps it alive for as long as the context is.
   */
  readonly notify: () => void;

  /**
   * A Linux AIO context (`io_setup`), or an io_uring instance with
   * `maxEvents` SQ entries (`forceSyscall` does not apply: its completions
   * are always read in user space).
   */
  constructor(maxEvents: number, forceSyscall: boolean, notify: () => void, kernel: CoreKernel = 'aio') {
    const s = kernel === 'uring' ? native.uringSetup(maxEvents, notify) : native.setup(maxEvents, forceSyscall, notify);
    this.kernel = kernel;
    this.#calls = KERNEL_CALLS[kernel];
    this.notify = notify;
    this.maxEvents = maxEvents;
    this.handle = s.handle;
    this.capacity = s.capacity;
    this.#cmd = s.cmd;
    this.#events = s.events;
    this.#status = s.status;
    this.ringReap = s.ringReap;
    this.#args = [s.handle, 0, null, false];
    this.#owners = new Array<unknown>(s.capacity).fill(undefined);
    this.#pins = new Array<unknown>(s.capacity).fill(undefined);
    this.#freeSlots = new Int32Array(s.capacity);
    for (let i = 0; i < s.capacity; i++) this.#freeSlots[i] = s.capacity - 1 - i;
    this.#freeTop = s.capacity;
  }

  /** Requests submitted and not yet reaped. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Completions the last {@link submit} reaped inline. */
  get inlineReaped(): number {
    return this.#inlineReaped;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The counters, read-only; only the core and {@link countEagain} change them. */
  get counters(): Readonly<CoreCounters> {
    return this.#counters;
  }

  /** Counts an EAGAIN the caller raised itself (a full context refused before any syscall). */
  countEagain(): void {
    this.#counters.eagain++;
  }

  /**
   * The command rows shared with C. Only a test that forges a row (to check
   * that the addon refuses it) writes into them.
   */
  get cmd(): Float64Array {
    return this.#cmd;
  }

  /** What `slot` was staged for, while in flight. */
  ownerOf(slot: number): unknown {
    return this.#owners[slot];
  }

  /** The owners of every slot in flight. */
  inFlightOwners(): unknown[] {
    return this.#owners.filter((o) => o !== undefined);
  }

  /** Free slots: how many more requests fit now. */
  get available(): number {
    return this.#freeTop;
  }

  ensureLive(): void {
    if (this.#destroyed) throw new AioError(EINVAL, 'io_context', 'the context has been destroyed');
  }

  /**
   * Takes a free slot and writes row `row` of the next batch from `req`;
   * `owner` is what {@link ownerOf} returns for the slot. The caller
   * guarantees `available > 0`.
   */
  stage(row: number, owner: unknown, req: StagedRequest): number {
    const slot = this.#freeSlots[--this.#freeTop]!;
    const buf = req.buf;
    this.#owners[slot] = owner;
    this.#pins[slot] = buf;
    this.#args[ARGS_BEFORE_BUFFERS + row] = buf;
    const c = this.#cmd;
    const base = row * CMD.STRIDE;
    c[base + CMD.SLOT] = slot;
    c[base + CMD.OPCODE] = req.opcode;
    c[base + CMD.FD] = req.fd;
    c[base + CMD.OFFSET] = req.position;
    c[base + CMD.RW_FLAGS] = req.kernelFlags;
    c[base + CMD.RESFD] = req.resfd;
    c[base + CMD.REQPRIO] = req.reqprio;
    c[base + CMD.AUX] = req.aux;
    c[base + CMD.FIXED_FILE] = req.fixedFile;
    return slot;
  }

  /** The slot staged at `row`. */
  slotAt(row: number): number {
    return this.#cmd[row * CMD.STRIDE + CMD.SLOT]!;
  }

  /**
   * Submits rows [0, count) in one io_submit (io_uring_enter). Rows the kernel did not take
   * are unstaged (their slots freed). Returns how many it took; throws the
   * kernel's error only when it took none.
   *
   * With `reapInline` (ring mode only), the completions that are already in
   * the ring when io_submit returns are reaped in the same call: their count
   * is {@link inlineReaped} and their rows are in `events`, to be handled
   * and released as after {@link reap}.
   */
  submit(count: number, reapInline = false): number {
    let accepted = 0;
    this.#counters.submitCalls++;
    this.#inlineReaped = 0;
    try {
      accepted = this.#callSubmit(count, reapInline);
    } catch (err) {
      if (err instanceof AioError && err.code === 'EAGAIN') this.#counters.eagain++;
      this.#unstage(0, count);
      this.#clearBatch(count);
      throw err;
    }
    if (accepted < count) {
      this.#counters.eagain++;
      this.#unstage(accepted, count);
    }
    this.#clearBatch(count);
    if (accepted > 0) {
      this.#counters.submitted += accepted;
      const n = reapInline ? this.#status[STATUS.INLINE_REAPED]! : 0;
      if (n > 0) {
        this.#inlineReaped = n;
        this.#counters.reapCalls++;
        this.#counters.completed += n;
        this.#counters.completedInline += n;
      }
      // The reap may also have found earlier requests. Only the net change
      // touches the set: requests that completed inside the call never needed
      // the context kept alive, and a Set add and delete per submit is a large
      // part of what a queue-depth-1 submit costs in JavaScript.
      const before = this.#inFlight;
      this.#inFlight = before + accepted - n;
      if (before === 0 && this.#inFlight > 0) busyContexts.add(this);
      else if (before > 0 && this.#inFlight === 0) busyContexts.delete(this);
    }
    return accepted;
  }

  #callSubmit(count: number, reapInline: boolean): number {
    const args = this.#args;
    // A call through Reflect.apply reaches the addon by V8's slow path for
    // C++ functions (about 450 instructions more than a direct call): worth
    // it for a batch, not for the lone request of queue depth 1.
    if (count === 1) return this.#calls.submit(this.handle, 1, null, reapInline, args[ARGS_BEFORE_BUFFERS]);
    // No buffer arguments at all: the addon then takes its array form.
    if (count === 0) return this.#calls.submit(this.handle, 0, NO_BUFFERS, reapInline);
    if (count > SPREAD_MAX) {
      const bufs = args.slice(ARGS_BEFORE_BUFFERS, ARGS_BEFORE_BUFFERS + count);
      return this.#calls.submit(this.handle, count, bufs, reapInline);
    }
    args[1] = count;
    args[3] = reapInline;
    return Reflect.apply(this.#calls.submit, undefined, args) as number;
  }

  #unstage(from: number, to: number): void {
    for (let row = from; row < to; row++) this.release(this.slotAt(row));
  }

  /**
   * Drops the batch's references (the slots keep their own pins). The list
   * keeps its length, as the addon ignores arguments past the count, unless
   * a burst left it much longer than the batches now are: every call copies
   * all of it.
   */
  #clearBatch(count: number): void {
    const args = this.#args;
    for (let row = 0; row < count; row++) args[ARGS_BEFORE_BUFFERS + row] = undefined;
    if (args.length > ARGS_BEFORE_BUFFERS + 2 * count + 16) args.length = ARGS_BEFORE_BUFFERS + count;
  }

  /** Frees a slot after its completion was handled. */
  release(slot: number): void {
    this.#owners[slot] = undefined;
    this.#pins[slot] = undefined;
    this.#freeSlots[this.#freeTop++] = slot;
  }

  /**
   * Reaps completions into `events`; the caller handles rows [0, n) and
   * releases their slots. timeoutMs < 0 waits without limit.
   */
  reap(minNr: number, nr: number, timeoutMs: number): number {
    this.#counters.reapCalls++;
    const n = this.#calls.reap(this.handle, minNr, nr, timeoutMs);
    if (n > 0) {
      this.#inFlight -= n;
      this.#counters.completed += n;
      if (this.#inFlight === 0) busyContexts.delete(this);
    }
    return n;
  }

  /** Row `i` of the last reap: its slot, result and second result. */
  eventSlot(i: number): number {
    return this.#events[i * EVT.STRIDE + EVT.SLOT]!;
  }
  eventRes(i: number): number {
    return this.#events[i * EVT.STRIDE + EVT.RES]!;
  }
  eventRes2(i: number): number {
    return this.#events[i * EVT.STRIDE + EVT.RES2]!;
  }

  /**
   * Registers the views' memory with the ring (io_uring only, once, with
   * nothing in flight): reads and writes inside one then go as
   * READ_FIXED/WRITE_FIXED. The ring keeps their ArrayBuffers reachable
   * until it is destroyed.
   */
  registerBuffers(views: ArrayBufferView[]): number {
    return native.uringRegisterBuffers(this.handle, views);
  }

  /** Reads and writes the kernel took with a registered buffer. */
  get fixedRequests(): number {
    return this.#status[STATUS.FIXED]!;
  }

  /**
   * Puts `fd` in the ring's file table (io_uring only) and returns its
   * index: requests staged with that index as `fixedFile` go with
   * IOSQE_FIXED_FILE. The entry holds the file itself, whatever becomes of
   * the fd, until {@link unregisterFile}.
   */
  registerFile(fd: number): number {
    return native.uringRegisterFile(this.handle, fd);
  }

  /** Empties entry `index` of the ring's file table; nothing to do once the ring is destroyed. */
  unregisterFile(index: number): void {
    if (!this.#destroyed) native.uringUnregisterFile(this.handle, index);
  }

  /** Requests the kernel took on a registered file. */
  get fixedFileRequests(): number {
    return this.#status[STATUS.FIXED_FILES]!;
  }

  /** Watch the eventfd (true) or stop watching it (false). */
  arm(on: boolean): void {
    if (on === this.#armed || this.#destroyed) return;
    native.arm(this.handle, on);
    this.#armed = on;
  }

  /**
   * io_cancel of the request in `slot`: 0, or a positive errno. On io_uring
   * an IORING_OP_ASYNC_CANCEL: 0 means asked, and the request completes
   * (with -ECANCELED if the cancel won) through the ring as usual.
   */
  cancel(slot: number): number {
    return this.#calls.cancel(this.handle, slot);
  }

  /**
   * io_destroy (on io_uring: cancel what can be, wait for the rest, unmap):
   * the kernel is done with requests in flight, after which their buffers
   * are unpinned. A ring whose teardown could not wait leaves requests in
   * the kernel: their buffers go to {@link abandonedPins}, never unpinned.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.arm(false);
    const drained = native.destroy(this.handle);
    this.#destroyed = true;
    busyContexts.delete(this);
    this.#inFlight = 0;
    // Only slots in flight still hold a pin: release() clears the rest.
    if (!drained) for (const pin of this.#pins) if (pin !== undefined) abandonedPins.push(pin);
    this.#owners.fill(undefined);
    this.#pins.fill(undefined);
  }
}
