/**
 * libaio's convenience layer: a callback stored in the Iocb's `data`
 * (io_set_callback), and io_queue_run, which reaps every completion that is
 * ready and calls its callback. A thin layer over {@link IoContext}.
 * @module
 */
import { IoContext, type IoContextOptions, type IoEvent } from './io-context.js';
import { Iocb } from './iocb.js';
import { argTypeError, checkTimeout } from '../core/validate.js';

/**
 * What {@link ioQueueRun} calls for each completion (libaio's
 * `io_callback_t`): the context, the Iocb that completed, and the event's
 * `res` and `res2`.
 */
export type IoCallback = (ctx: IoContext, iocb: Iocb, res: number, res2: number) => void;

/**
 * A completion {@link ioQueueRun} could not hand to a callback (its Iocb's
 * `data` is not a function); the event is in `event`, so nothing is lost.
 */
export class MissingCallbackError extends TypeError {
  /** As for Node's errors about a value that is not allowed. */
  readonly code = 'ERR_INVALID_ARG_VALUE';
  constructor(readonly event: IoEvent) {
    super(`a completed Iocb has no callback: its data is ${event.data === null ? 'null' : typeof event.data}, not a function (set it with ioSetCallback)`);
    this.name = 'MissingCallbackError';
  }
}

/**
 * io_queue_init: the same as {@link IoContext.setup}.
 * @throws RangeError when `maxEvents` is not a positive integer (libaio's EINVAL)
 */
export function ioQueueInit(maxEvents: number, options?: IoContextOptions): IoContext {
  return IoContext.setup(maxEvents, options);
}

/** io_queue_release: the same as `ctx.destroy()`. */
export function ioQueueRelease(ctx: IoContext): void {
  checkContext(ctx).destroy();
}

/**
 * io_set_callback: stores `cb` as the Iocb's `data`, where {@link ioQueueRun}
 * finds it. As in libaio the callback takes the place of `data`, so an
 * `IoEvent` of this Iocb has the callback as its `data`. Returns `iocb`.
 */
export function ioSetCallback(iocb: Iocb, cb: IoCallback): Iocb {
  checkArgs(iocb, cb);
  iocb.data = cb;
  return iocb;
}

/**
 * io_queue_run: reaps, without waiting, every completion that is ready (and
 * those of requests the callbacks submit, if they are ready as soon), and
 * calls each one's callback as `cb(ctx, iocb, res, res2)`.
 *
 * Unlike libaio, which returns 0, it returns how many callbacks ran. A
 * callback that throws does not stop the others: once every ready completion
 * has been handled the error is rethrown, or an `AggregateError` of all of
 * them when several threw. A completion whose `data` is not a function is
 * reported the same way, as a {@link MissingCallbackError} holding its event.
 */
export function ioQueueRun(ctx: IoContext): number {
  checkContext(ctx);
  const errors: unknown[] = [];
  let ran = 0;
  for (;;) {
    const events = ctx.getEvents(0, ctx.capacity);
    if (events.length === 0) break;
    ran += dispatch(ctx, events, errors);
  }
  throwCollected(errors);
  return ran;
}

/**
 * Node's io_queue_wait: runs the callbacks of the completions that are ready
 * (as {@link ioQueueRun}); when none is, first waits from the event loop,
 * without blocking it, until one arrives or `timeoutMs` passes. Resolves to
 * how many callbacks ran: 0 when the timeout expired first, or at once when
 * nothing is in flight. Errors reject it as they make {@link ioQueueRun} throw.
 *
 * (libaio's io_queue_wait, left out of its header, calls io_getevents with
 * `nr` = 0, which returns at once without waiting.)
 */
export async function ioQueueWait(ctx: IoContext, timeoutMs?: number): Promise<number> {
  checkContext(ctx);
  checkTimeout(timeoutMs);
  const ready = ioQueueRun(ctx);
  if (ready > 0 || ctx.inFlight === 0) return ready;
  const events = await ctx.waitEvents(1, ctx.capacity, timeoutMs);
  const errors: unknown[] = [];
  let ran = dispatch(ctx, events, errors);
  try {
    ran += ioQueueRun(ctx);
  } catch (err) {
    errors.push(...(err instanceof AggregateError ? err.errors : [err]));
  }
  throwCollected(errors);
  return ran;
}

/** io_fsync: prepares an fsync of `fd` on `iocb` with callback `cb` and submits it. Returns 1. */
export function ioFsync(ctx: IoContext, iocb: Iocb, cb: IoCallback, fd: number): number {
  return submitOne(ctx, iocb, cb, () => iocb.prepFsync(fd));
}

/** io_fdsync: as {@link ioFsync}, with an fdatasync. */
export function ioFdsync(ctx: IoContext, iocb: Iocb, cb: IoCallback, fd: number): number {
  return submitOne(ctx, iocb, cb, () => iocb.prepFdsync(fd));
}

/** io_poll: prepares a poll of `fd` for `events` on `iocb` with callback `cb` and submits it. Returns 1. */
export function ioPoll(ctx: IoContext, iocb: Iocb, cb: IoCallback, fd: number, events: number): number {
  return submitOne(ctx, iocb, cb, () => iocb.prepPoll(fd, events));
}

function submitOne(ctx: IoContext, iocb: Iocb, cb: IoCallback, prep: () => void): number {
  checkContext(ctx);
  checkArgs(iocb, cb);
  prep();
  iocb.data = cb;
  return ctx.submit([iocb]);
}

function dispatch(ctx: IoContext, events: readonly IoEvent[], errors: unknown[]): number {
  let ran = 0;
  for (const ev of events) {
    if (typeof ev.data !== 'function') {
      errors.push(new MissingCallbackError(ev));
      continue;
    }
    ran++;
    try {
      (ev.data as IoCallback)(ctx, ev.obj, ev.res, ev.res2);
    } catch (err) {
      errors.push(err);
    }
  }
  return ran;
}

function throwCollected(errors: unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} completions failed in their callbacks`);
}

function checkContext(ctx: IoContext): IoContext {
  if (!(ctx instanceof IoContext)) throw argTypeError('ctx must be an IoContext');
  return ctx;
}

function checkArgs(iocb: Iocb, cb: IoCallback): void {
  if (!(iocb instanceof Iocb)) throw argTypeError('iocb must be an Iocb');
  if (typeof cb !== 'function') throw argTypeError(`cb must be a function, got ${typeof cb}`);
}
