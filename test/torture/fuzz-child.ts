/**
 * The fuzzed boundary, run as a child process by
 * test/fuzz-boundary.test.ts so that a crash shows as a signal: every
 * exported function and method is called with RUNS random argument lists
 * from fast-check (wrong types, negative and huge numbers, NaN, detached
 * and misaligned buffers, destroyed contexts, closed files and queues).
 * Only AioError, TypeError and RangeError with Node's argument-error `code`
 * (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE) and (for
 * aborted requests) AbortError may come out, thrown or as a rejection.
 *
 *   node fuzz-child.js <dir> [runs] [seed]
 *
 * Prints one JSON line: runs per target, the error classes seen, and the
 * first offending cases.
 *
 * Some arguments are kept inside bounds for the machine's sake, never for
 * the library's: file descriptors are this process's own test files, an
 * eventfd, closed or invalid numbers (never stdin/stdout or the IPC channel,
 * which a real read or write would disturb); allocation and preallocation
 * sizes stay under 64 MiB when valid; blocking waits get short timeouts.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  AioError, AioFile, DEFAULT_ALIGNMENT, IoContext, IoQueue, Iocb, POLL, allocAligned, errnoName, eventfd, eventfdRead,
  BufferPool, isAddressAligned, open, ioQueueInit, ioQueueRelease, ioQueueRun, ioQueueWait, ioSetCallback, ioFsync, ioFdsync, ioPoll,
} from '../../src/index.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2]!;
const RUNS = Number(process.argv[3] ?? 2000);
const SEED = Number(process.argv[4] ?? Date.now() % 0x7fffffff);

// ---- the world the arguments come from --------------------------------------------------------

const filePath = path.join(dir, `fuzz-${process.pid}`);
fs.writeFileSync(filePath, Buffer.alloc(1 << 20, 0x5a));
const directFd = fs.openSync(filePath, fs.constants.O_RDWR | fs.constants.O_DIRECT);
const closedFd = (() => {
  const fd = fs.openSync(filePath, 'r');
  fs.closeSync(fd);
  return fd;
})();
const efd = eventfd(0);
const openFile = await open(filePath, 'r+');
const closedFile = await open(filePath, 'r');
await closedFile.close();
const bufferedFile = await open(filePath, 'r+', { direct: false });
// The write side changes sizes: it gets files of its own, so that the probe at the end still reads.
const scratchPath = path.join(dir, `fuzz-scratch-${process.pid}`);
const scratchFile = await open(scratchPath, 'w+');
const scratchBuffered = await open(scratchPath, 'r+', { direct: false });
const liveCtx = IoContext.setup(64);
const deadCtx = IoContext.setup(4);
deadCtx.destroy();
const closedQueue = new IoQueue({ depth: 4 });
await closedQueue.close();
const liveQueue = new IoQueue({ depth: 32 });

function detachedView(): Uint8Array {
  const ab = new ArrayBuffer(4096);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/** Buffers of every kind: aligned, misaligned, empty, detached, typed, DataView, shared. */
const bufferArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(4096, 512, 8192, 65536).map((n) => allocAligned(n)),
  fc.integer({ min: 0, max: 70000 }).map((n) => Buffer.alloc(n)),
  fc.integer({ min: 1, max: 4095 }).map((k) => allocAligned(8192).subarray(k)),
  fc.constant(null).map(() => detachedView()),
  fc.constant(null).map(() => new Float64Array(allocAligned(4096).buffer, 0, 512)),
  fc.constant(null).map(() => new DataView(allocAligned(4096).buffer)),
  fc.constant(null).map(() => new Uint8Array(new SharedArrayBuffer(4096))),
  fc.constant(null).map(() => allocAligned(0)),
  fc.anything(),
);
const bufferListArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(bufferArb, { maxLength: 6 }),
  fc.constant(null).map(() => new Array(1025).fill(allocAligned(512))),
  fc.anything(),
);

/** Numbers at and beyond every edge, and non-numbers. */
const numberArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -1000, max: 100000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1,
    2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e300, -1e300, Number.MIN_VALUE, 4096, 512, 1 << 20, 2 ** 30),
  fc.bigInt(),
  fc.anything(),
);
/** Sizes that may be valid only up to 64 MiB (the machine's sake). */
const sizeArb: fc.Arbitrary<unknown> = numberArb.filter((n) => !(typeof n === 'number' && Number.isFinite(n) && n > 64 << 20 && n <= 2 ** 53));
/** Preallocation sizes for new files: valid only up to 1 MiB (many files may be made, on tmpfs: memory). */
const smallSizeArb: fc.Arbitrary<unknown> = numberArb.filter((n) => !(typeof n === 'number' && Number.isFinite(n) && n > 1 << 20 && n <= 2 ** 53));
/** Descriptors: ours, closed, invalid, or not numbers; never 0-2 or the IPC channel. */
const fdArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(directFd, closedFd, efd, openFile.fd, 99999, 2 ** 31 - 1, -1, 2 ** 31, 1.5, NaN),
  numberArb.filter((n) => !(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 100000)),
);
const signalArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null).map(() => AbortSignal.abort()),
  fc.constant(null).map(() => new AbortController().signal),
  fc.constant(null).map(() => {
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    return ac.signal;
  }),
  fc.anything(),
);
const optsArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.record({ signal: signalArb, flags: numberArb }, { requiredKeys: [] }),
  fc.anything(),
);
const fileArb = fc.constantFrom(openFile, closedFile, bufferedFile);
const ctxArb = fc.constantFrom(liveCtx, deadCtx);
const anyArgs = fc.array(fc.oneof(numberArb, bufferArb, fc.anything()), { maxLength: 4 });

// ---- running and judging ------------------------------------------------------------------------

interface Tally {
  runs: number;
  ok: number;
  ms: number;
  errors: Record<string, number>;
  /** Errors of a class not allowed, and the first few of them. */
  badCount: number;
  bad: string[];
}
const tallies: Record<string, Tally> = {};
const pending: Promise<unknown>[] = [];

/**
 * Argument errors must carry Node's `code` for the kind of mistake (the
 * library's own, and those of Node APIs it passes arguments on to): a
 * TypeError without one is an accident inside the library, such as reading
 * a property of undefined.
 */
const ARG_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE']);
function allowed(err: unknown): boolean {
  if (err instanceof AioError) return true;
  if (err instanceof TypeError || err instanceof RangeError) return ARG_CODES.has((err as { code?: unknown }).code as string);
  return err instanceof Error && err.name === 'AbortError' && (err as { code?: unknown }).code === 'ABORT_ERR';
}
function describe(args: unknown[]): string {
  try {
    return fc.stringify(args).slice(0, 300);
  } catch {
    return `${args.length} arguments that cannot be printed (a detached view, say)`;
  }
}
function record(name: string, args: unknown[], err: unknown): void {
  const t = tallies[name]!;
  if (err === undefined) {
    t.ok++;
    return;
  }
  const code = (err as { code?: unknown } | null)?.code;
  const kind = err instanceof AioError ? `AioError ${err.code}` : err instanceof Error ? `${err.name}${typeof code === 'string' ? ` ${code}` : ''}` : typeof err;
  t.errors[kind] = (t.errors[kind] ?? 0) + 1;
  if (allowed(err)) return;
  t.badCount++;
  if (t.bad.length < 5) {
    t.bad.push(`${name}(${describe(args)}) → ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}
/** Calls `fn`; a returned promise is judged when it settles (with a time limit for the report, not a failure). */
function call(name: string, args: unknown[], fn: () => unknown): void {
  tallies[name] ??= { runs: 0, ok: 0, ms: 0, errors: {}, badCount: 0, bad: [] };
  tallies[name].runs++;
  let out: unknown;
  try {
    out = fn();
  } catch (err) {
    record(name, args, err);
    return;
  }
  if (out instanceof Promise) {
    pending.push(out.then(() => record(name, args, undefined), (err) => record(name, args, err)));
  } else {
    record(name, args, undefined);
  }
}
async function drain(): Promise<void> {
  while (pending.length > 0) await Promise.all(pending.splice(0));
}
function run(name: string, arb: fc.Arbitrary<unknown[]>, fn: (...args: unknown[]) => unknown, runs = RUNS): void {
  const t = Date.now();
  fc.assert(fc.property(arb, (args) => {
    call(name, args, () => fn(...args));
  }), { numRuns: runs, seed: SEED ^ name.length * 7919 });
  tallies[name]!.ms += Date.now() - t;
}
// Async targets: a batch of calls, then wait for them (the queue needs the event loop).
async function runAsync(name: string, arb: fc.Arbitrary<unknown[]>, fn: (...args: unknown[]) => unknown, runs = RUNS): Promise<void> {
  const t = Date.now();
  const samples = fc.sample(arb, { numRuns: runs, seed: SEED ^ name.length * 104729 });
  for (let i = 0; i < samples.length; i++) {
    const args = samples[i]!;
    call(name, args, () => fn(...args));
    if (i % 100 === 99) await drain();
  }
  await drain();
  tallies[name]!.ms += Date.now() - t;
}
const one = (...arbs: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown[]> => fc.tuple(...arbs) as unknown as fc.Arbitrary<unknown[]>;

// ---- the targets ---------------------------------------------------------------------------------

const t0 = Date.now();
run('allocAligned', one(sizeArb, numberArb), (s, a) => allocAligned(s as number, a as number));
run('isAddressAligned', one(bufferArb, numberArb), (b, a) => isAddressAligned(b as Buffer, a as number));
run('errnoName', one(numberArb), (n) => errnoName(n as number));
run('new AioError', one(numberArb, fc.anything(), fc.anything()), (e, s, h) => new AioError(e as number, s as string, h as string));
run('DEFAULT_ALIGNMENT is 4096', one(fc.constant(0)), () => {
  if (DEFAULT_ALIGNMENT !== 4096) throw new Error('DEFAULT_ALIGNMENT changed');
});

// Iocb: every prep method, the flags, the eventfd.
run('Iocb.prepPread', one(fdArb, bufferArb, numberArb), (fd, b, o) => new Iocb().prepPread(fd as number, b as Buffer, o as number));
run('Iocb.prepPwrite', one(fdArb, bufferArb, numberArb), (fd, b, o) => new Iocb().prepPwrite(fd as number, b as Buffer, o as number));
run('Iocb.prepPreadv', one(fdArb, bufferListArb, numberArb), (fd, b, o) => new Iocb().prepPreadv(fd as number, b as Buffer[], o as number));
run('Iocb.prepPwritev', one(fdArb, bufferListArb, numberArb), (fd, b, o) => new Iocb().prepPwritev(fd as number, b as Buffer[], o as number));
run('Iocb.prepFsync', one(fdArb), (fd) => new Iocb().prepFsync(fd as number));
run('Iocb.prepFdsync', one(fdArb), (fd) => new Iocb().prepFdsync(fd as number));
run('Iocb.prepPoll', one(fdArb, numberArb), (fd, e) => new Iocb().prepPoll(fd as number, e as number));
run('Iocb.setEventfd', one(fdArb), (fd) => new Iocb().setEventfd(fd as number));
run('Iocb.rwFlags=', one(numberArb), (f) => {
  new Iocb().rwFlags = f as number;
});

// IoContext: setup, then submit / getEvents / waitEvents / cancel / stats on live and destroyed contexts.
// A context that is made costs an io_destroy (an RCU grace period, ~10-30 ms)
// to give back: most arguments here are invalid, one in twenty is not.
const isValidCount = (n: unknown, max: number): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= max;
run('IoContext.setup', one(
  fc.oneof({ arbitrary: numberArb.filter((n) => !isValidCount(n, 1 << 20)), weight: 19 }, { arbitrary: fc.integer({ min: 1, max: 4096 }), weight: 1 }),
  fc.oneof(fc.constant(undefined), fc.record({ reap: fc.oneof(fc.constantFrom('auto', 'syscall'), fc.anything()) }, { requiredKeys: [] }), fc.anything()),
), (n, o) => {
  IoContext.setup(n as number, o as object).destroy();
});

const iocbArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6), fdArb, bufferArb, bufferListArb, fc.constantFrom(0, 4096, 512, 3, 1 << 20, 2 ** 40), numberArb)
    .map(([op, fd, b, bl, off, flags]) => {
      const cb = new Iocb();
      try {
        switch (op) {
          case 0: cb.prepPread(fd as number, b as Buffer, off); break;
          case 1: cb.prepPwrite(fd as number, b as Buffer, off); break;
          case 2: cb.prepPreadv(fd as number, bl as Buffer[], off); break;
          case 3: cb.prepPwritev(fd as number, bl as Buffer[], off); break;
          case 4: cb.prepFsync(fd as number); break;
          case 5: cb.prepPoll(fd as number, 1); break;
          default: break; // never prepared
        }
        cb.rwFlags = flags as number;
      } catch {
        /* a prep that refused its arguments leaves an Iocb as it was */
      }
      return cb;
    }),
  fc.anything(),
);
run('IoContext.submit', one(ctxArb, fc.oneof(fc.array(iocbArb, { maxLength: 8 }), fc.anything())), (c, list) => {
  (c as IoContext).submit(list as Iocb[]);
  // Keep the live context from filling up: take what is done.
  if (!(c as IoContext).destroyed) (c as IoContext).getEvents(0, 64);
});
const timeoutArb = fc.oneof(fc.constantFrom(undefined, 0, 1, 2, -1, NaN, Infinity, 1e300, -0), fc.anything());
run('IoContext.getEvents', one(ctxArb, numberArb, numberArb, timeoutArb), (c, min, nr, tmo) => {
  const ctx = c as IoContext;
  // Waiting (validly) without a short timeout for completions that never come would block for good.
  const validWait = typeof min === 'number' && min > 0 && (tmo === undefined || tmo === Infinity || (typeof tmo === 'number' && tmo > 5));
  const t = validWait ? 2 : tmo;
  return ctx.getEvents(min as number, nr as number, t as number);
});
await runAsync('IoContext.waitEvents', one(ctxArb, numberArb, numberArb, timeoutArb), (c, min, nr, tmo) => {
  const p = (c as IoContext).waitEvents(min as number, nr as number, typeof tmo === 'number' && tmo > 5 ? 2 : (tmo === undefined ? 2 : tmo) as number);
  return p;
});
run('IoContext.cancel', one(ctxArb, fc.oneof(iocbArb, fc.anything())), (c, cb) => (c as IoContext).cancel(cb as Iocb));
// An Iocb in flight (a poll that nothing will wake): preparing or submitting it again must be refused.
const inFlightIocb = new Iocb().prepPoll(efd, POLL.IN);
liveCtx.submit([inFlightIocb]);
run('Iocb in flight: prep/submit again', one(fc.integer({ min: 0, max: 4 }), fdArb, bufferArb, numberArb), (which, fd, b, o) => {
  switch (which) {
    case 0: return inFlightIocb.prepPread(fd as number, b as Buffer, o as number);
    case 1: return inFlightIocb.prepFsync(fd as number);
    case 2: inFlightIocb.rwFlags = o as number; return undefined;
    case 3: return inFlightIocb.setEventfd(fd as number);
    default: return liveCtx.submit([inFlightIocb]);
  }
});
run('IoContext.stats/getters', one(ctxArb), (c) => {
  const ctx = c as IoContext;
  return [ctx.stats(), ctx.capacity, ctx.inFlight, ctx.maxEvents, ctx.reapMode, ctx.destroyed];
});
run('IoContext.destroy (destroyed)', one(fc.constant(deadCtx)), (c) => (c as IoContext).destroy());

// The per-request priority and the flagged vectored preps.
const priorityArb = fc.oneof(
  fc.record({ class: fc.oneof(fc.constantFrom('realtime', 'best-effort', 'idle', 'none', ''), fc.anything()), level: numberArb }, { requiredKeys: [] }),
  fc.anything(),
);
run('Iocb.priority=', one(priorityArb), (p) => {
  new Iocb().priority = p as never;
});
run('Iocb.prepPreadv2/prepPwritev2', one(fc.boolean(), fdArb, bufferListArb, numberArb, numberArb), (read, fd, b, o, f) =>
  read ? new Iocb().prepPreadv2(fd as number, b as Buffer[], o as number, f as number)
    : new Iocb().prepPwritev2(fd as number, b as Buffer[], o as number, f as number));

// libaio's callback layer. Its requests go to a context of their own, whose
// completions (some of them polls that never fire) are taken after each call.
const cbCtx = IoContext.setup(64);
// Nothing is ever submitted here: running and waiting on it succeed at once.
const idleCtx = IoContext.setup(1);
const cbArb: fc.Arbitrary<unknown> = fc.oneof(fc.constant(() => {}), fc.constant(() => { throw new AioError(5, 'fuzz'); }), fc.anything());
const cbCtxArb = fc.oneof(fc.constantFrom(cbCtx, deadCtx), fc.anything());
run('ioQueueInit/ioQueueRelease', one(
  fc.oneof({ arbitrary: numberArb.filter((n) => !isValidCount(n, 1 << 20)), weight: 19 }, { arbitrary: fc.integer({ min: 1, max: 4096 }), weight: 1 }),
), (n) => ioQueueRelease(ioQueueInit(n as number)));
run('ioQueueRelease (junk)', one(fc.oneof(fc.constant(deadCtx), fc.anything())), (c) => ioQueueRelease(c as IoContext));
run('ioSetCallback', one(fc.oneof(iocbArb, fc.anything()), cbArb), (i, f) => ioSetCallback(i as Iocb, f as never));
run('ioFsync/ioFdsync/ioPoll', one(fc.integer({ min: 0, max: 2 }), cbCtxArb, fc.oneof(fc.constant(null).map(() => new Iocb()), fc.anything()), cbArb, fdArb, numberArb),
  (which, c, i, f, fd, ev) => {
    try {
      if (which === 0) return ioFsync(c as IoContext, i as Iocb, f as never, fd as number);
      if (which === 1) return ioFdsync(c as IoContext, i as Iocb, f as never, fd as number);
      return ioPoll(c as IoContext, i as Iocb, f as never, fd as number, ev as number);
    } finally {
      cbCtx.getEvents(0, 64);
    }
  });
run('ioQueueRun', one(fc.oneof(fc.constantFrom(deadCtx, idleCtx), fc.anything())), (c) => ioQueueRun(c as IoContext));
await runAsync('ioQueueWait', one(fc.oneof(fc.constantFrom(deadCtx, idleCtx), fc.anything()), timeoutArb), (c, tmo) =>
  ioQueueWait(c as IoContext, typeof tmo === 'number' && tmo > 5 ? 2 : (tmo === undefined ? 2 : tmo) as number));

// eventfd.
run('eventfd', one(numberArb), (n) => fs.closeSync(eventfd(n as number)));
run('eventfdRead', one(fc.oneof(fc.constantFrom(efd, closedFd, directFd), fdArb)), (fd) => eventfdRead(fd as number));

// IoQueue: construction, stats, default, close.
run('new IoQueue', one(fc.oneof(
  { arbitrary: fc.record({ depth: numberArb.filter((n) => n !== undefined && !isValidCount(n, 65536)), reap: fc.anything() }), weight: 38 },
  { arbitrary: fc.record({ depth: fc.integer({ min: 1, max: 512 }), reap: fc.anything().filter((r) => r !== undefined && r !== 'auto' && r !== 'syscall') }), weight: 1 },
  { arbitrary: fc.oneof(fc.constant(undefined), fc.record({ depth: fc.integer({ min: 1, max: 512 }), reap: fc.constantFrom('auto', 'syscall', undefined) }, { requiredKeys: [] })), weight: 1 },
)), (o) => {
  const q = new IoQueue(o as object);
  return q.close();
});
run('IoQueue.stats/default', one(fc.constantFrom(liveQueue, closedQueue)), (q) => [(q as IoQueue).stats(), (q as IoQueue).reapMode, IoQueue.default().depth]);
await runAsync('IoQueue.close', one(fc.constantFrom(closedQueue)), (q) => (q as IoQueue).close());

// open(): paths stay inside the test folder.
const pathArb = fc.oneof(
  fc.constantFrom(filePath, path.join(dir, 'does-not-exist', 'x'), dir, '', '/dev/null', `${filePath}\0x`),
  fc.string({ maxLength: 12 }).map((s) => path.join(dir, `f-${s.replace(/[/\0]/g, '_')}`)),
  fc.anything().filter((v) => typeof v !== 'string'),
);
const flagsArb = fc.oneof(fc.constantFrom('r', 'r+', 'w+', 'a', 'wx', 'rs+', 'x', ''), numberArb.filter((n) => !(typeof n === 'number' && n > 0 && (n & 0o100) !== 0 && false)));
const openOptsArb = fc.oneof(
  fc.record({
    direct: fc.oneof(fc.boolean(), fc.anything()),
    engine: fc.oneof(fc.constantFrom('auto', 'aio', 'threadpool', 'uring'), fc.anything()),
    mode: numberArb,
    size: smallSizeArb,
    queue: fc.oneof(fc.constantFrom(liveQueue, closedQueue), fc.anything()),
  }, { requiredKeys: [] }),
  fc.anything(),
);
await runAsync('open', one(pathArb, flagsArb, openOptsArb), async (p, f, o) => {
  const file = await open(p as string, f as string, o as object);
  await file.close();
});

// AioFile methods on an open O_DIRECT file, a closed file and a buffered file.
await runAsync('AioFile.read', one(fileArb, bufferArb, numberArb, optsArb), (f, b, p, o) => (f as AioFile).read(b as Buffer, p as number, o as object));
await runAsync('AioFile.write', one(fileArb, bufferArb, numberArb, optsArb), (f, b, p, o) => (f as AioFile).write(b as Buffer, p as number, o as object));
await runAsync('AioFile.readv', one(fileArb, bufferListArb, numberArb, optsArb), (f, b, p, o) => (f as AioFile).readv(b as Buffer[], p as number, o as object));
await runAsync('AioFile.writev', one(fileArb, bufferListArb, numberArb, optsArb), (f, b, p, o) => (f as AioFile).writev(b as Buffer[], p as number, o as object));
await runAsync('AioFile.fsync/fdatasync', one(fileArb, fc.boolean(), anyArgs), (f, which, args) =>
  which ? (f as AioFile).fsync(...(args as [])) : (f as AioFile).fdatasync(...(args as [])));
await runAsync('AioFile.allocate', one(fileArb, sizeArb, sizeArb), (f, o, l) => (f as AioFile).allocate(o as number, l as number));
await runAsync('AioFile.readAt', one(fileArb, numberArb, sizeArb, optsArb), (f, p, l, o) => (f as AioFile).readAt(p as number, l as number, o as object));
// The write side, on the scratch files; valid positions and lengths stay under 1 MiB.
const writeFileArb = fc.constantFrom(scratchFile, closedFile, scratchBuffered);
const modeArb = fc.oneof(fc.constantFrom('default', 'keepSize', 'punchHole', 'zeroRange'), fc.anything());
const dataArb = fc.oneof(bufferArb, fc.string({ maxLength: 5000 }), fc.anything());
await runAsync('AioFile.allocate(mode)', one(writeFileArb, smallSizeArb, smallSizeArb, fc.oneof(fc.record({ mode: modeArb }, { requiredKeys: [] }), fc.anything())),
  (f, o, l, m) => (f as AioFile).allocate(o as number, l as number, m as object));
await runAsync('AioFile.truncate', one(writeFileArb, smallSizeArb), (f, l) => (f as AioFile).truncate(l as number));
await runAsync('AioFile.sync/datasync', one(writeFileArb, fc.boolean()), (f, which) => (which ? (f as AioFile).sync() : (f as AioFile).datasync()));
await runAsync('AioFile.writeAt', one(writeFileArb, smallSizeArb, dataArb, optsArb), (f, p, d, o) =>
  (f as AioFile).writeAt(p as number, d as Buffer, o as object));
await runAsync('AioFile.writeFile/readFile', one(writeFileArb, dataArb), async (f, d) => {
  await (f as AioFile).writeFile(d as Buffer);
  return (f as AioFile).readFile();
}, Math.min(RUNS, 300));
const writeStreamOptsArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.record({
    start: smallSizeArb, chunkSize: numberArb, depth: numberArb, flush: fc.oneof(fc.boolean(), fc.anything()), signal: signalArb,
    highWaterMark: numberArb, pool: fc.oneof(fc.constant(null).map(() => new BufferPool(1 << 20)), fc.anything()),
  }, { requiredKeys: [] }),
  fc.anything(),
);
// The data are bytes or strings: what Writable.write itself refuses (a detached view, say) is Node's business.
const streamDataArb = fc.oneof(fc.integer({ min: 0, max: 70000 }).map((n) => Buffer.alloc(n, 1)), fc.string({ maxLength: 3000 }));
await runAsync('AioFile.createWriteStream', one(writeFileArb, writeStreamOptsArb, streamDataArb), (f, o, d) =>
  pipeline(Readable.from([d]), (f as AioFile).createWriteStream(o as object)), Math.min(RUNS, 300));
run('new BufferPool', one(numberArb, fc.oneof(fc.record({ alignment: numberArb, maxFree: numberArb }, { requiredKeys: [] }), fc.anything())),
  (n, o) => new BufferPool(n as number, o as object));
const pool = new BufferPool(4096);
run('BufferPool.release', one(fc.oneof(bufferArb, fc.constant(null).map(() => pool.acquire()), fc.anything())), (b) => pool.release(b as Buffer));
const streamOptsArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.record({ start: numberArb, end: numberArb, chunkSize: numberArb, depth: numberArb, signal: signalArb }, { requiredKeys: [] }),
  fc.anything(),
);
await runAsync('AioFile.createReadStream', one(fileArb, streamOptsArb), async (f, o) => {
  // The first chunk is enough to reach the kernel; breaking out destroys the stream.
  for await (const chunk of (f as AioFile).createReadStream(o as object)) if (chunk) break;
});
await runAsync('AioFile.stat', one(fileArb, anyArgs), (f) => (f as AioFile).stat());
await runAsync('AioFile.close (closed)', one(fc.constant(closedFile), anyArgs), (f) => (f as AioFile).close());
await runAsync('AioFile.asyncDispose (closed)', one(fc.constant(closedFile)), (f) => (f as AioFile)[Symbol.asyncDispose]());
await runAsync('new AioFile', anyArgs, (...args) => new (AioFile as unknown as new (...a: unknown[]) => unknown)(...args));

await drain();

// The objects used throughout still work: nothing above broke them.
const probe = allocAligned(4096);
const n = await openFile.read(probe, 0);
await openFile.close();
await bufferedFile.close();
await scratchFile.close();
await scratchBuffered.close();
fs.rmSync(scratchPath, { force: true });
liveCtx.destroy();
await liveQueue.close();
fs.closeSync(directFd);
fs.closeSync(efd);
fs.rmSync(filePath, { force: true });
for (const f of fs.readdirSync(dir)) if (f.startsWith('f-')) fs.rmSync(path.join(dir, f), { force: true, recursive: true });

console.log(JSON.stringify({ seed: SEED, runs: RUNS, ms: Date.now() - t0, probeRead: n, tallies }));
