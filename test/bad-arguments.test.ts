/**
 * Bad arguments from JavaScript throw TypeError or RangeError before
 * anything reaches the kernel, leave no state behind, and never crash the
 * process: every exported function and method, and (in a child process) the
 * addon's own functions called directly with garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  IoQueue,
  AioError, IoContext, Iocb, POLL, allocAligned, eventfd, eventfdRead, isAddressAligned,
} from '../src/index.js';
import { diskDir, directFile } from './helpers/disk.js';
import { pollContext } from './helpers/fifo.js';
import type { AbuseResult } from './helpers/native-abuse.js';

const NOT_NUMBERS: unknown[] = [null, undefined, '1', true, {}, [], 1n, Symbol('s'), () => 1, new Number(1)];
const BAD_INTS: unknown[] = [-1, NaN, 1.5, Infinity, -Infinity, 2 ** 53];
const BAD_FDS: unknown[] = [...NOT_NUMBERS, ...BAD_INTS, 2 ** 31, -0.5];
const BAD_OFFSETS: unknown[] = [...NOT_NUMBERS, ...BAD_INTS, -4096, 2 ** 60];

function show(v: unknown): string {
  if (typeof v === 'symbol' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Uint8Array).length ?? '?'})`;
  if (Array.isArray(v)) return `[${v.length > 4 ? `${v.length} items` : v.map(show).join(', ')}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function detachedView(len = 4096): Uint8Array {
  const v = allocAligned(len);
  structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  return v;
}

function detachedDataView(): DataView {
  const ab = new ArrayBuffer(4096);
  const dv = new DataView(ab);
  structuredClone(ab, { transfer: [ab] });
  return dv;
}

const BAD_BUFFERS: unknown[] = [
  null, undefined, 'string', 42, {}, [0, 1, 2], new ArrayBuffer(4096),
  { buffer: new ArrayBuffer(4096), byteOffset: 0, byteLength: 4096 }, detachedView(), detachedDataView(),
];

const ARG_CODES = ['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE'];

/**
 * fn must throw a TypeError or RangeError (not a plain Error, not a crash)
 * with Node's argument-error `code`, so that it is one of the library's
 * refusals and not an accident inside it. `v8` allows V8's own RangeError
 * (no code) for an allocation larger than the machine can make.
 */
function rejectsArg(fn: () => unknown, label: string, v8 = false): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `${label}: did not throw`);
  assert.ok(thrown instanceof TypeError || thrown instanceof RangeError,
    `${label}: threw ${(thrown as Error)?.constructor?.name}: ${(thrown as Error)?.message}`);
  if (v8 && thrown instanceof RangeError && /allocation failed/.test(thrown.message)) return;
  const code = (thrown as { code?: unknown }).code;
  assert.ok(ARG_CODES.includes(code as string), `${label}: ${thrown.name} without an argument-error code (${String(code)}): ${thrown.message}`);
}

test('allocAligned and isAddressAligned', () => {
  for (const size of [...NOT_NUMBERS, ...BAD_INTS, -4096]) rejectsArg(() => allocAligned(size as number), `allocAligned(${show(size)})`);
  rejectsArg(() => allocAligned(2 ** 45), 'allocAligned(2**45): more memory than there is', true);
  for (const a of [...NOT_NUMBERS.filter((v) => v !== undefined), 0, 3, 6, 4095, -4096, 2 ** 31, 1.5, NaN, Infinity]) {
    rejectsArg(() => allocAligned(4096, a as number), `allocAligned(4096, ${show(a)})`);
  }
  // The edges that are allowed.
  assert.equal(allocAligned(0).length, 0);
  assert.ok(isAddressAligned(allocAligned(1, 1), 1));
  assert.ok(isAddressAligned(allocAligned(16, 2 ** 16), 2 ** 16));

  const buf = allocAligned(4096);
  for (const v of [null, undefined, {}, [], 'x', 1, new ArrayBuffer(8)]) {
    rejectsArg(() => isAddressAligned(v as never, 4096), `isAddressAligned(${show(v)}, 4096)`);
  }
  for (const a of [0, 3, -1, NaN, 1.5, 2 ** 31, '4096', null]) {
    rejectsArg(() => isAddressAligned(buf, a as number), `isAddressAligned(buf, ${show(a)})`);
  }
  assert.equal(isAddressAligned(buf, 4096), true);
  assert.equal(isAddressAligned(buf.subarray(1), 2), false);
});

test('IoContext.setup', () => {
  for (const n of [...NOT_NUMBERS, ...BAD_INTS, 0, 2 ** 20 + 1, 2 ** 21, 2 ** 32]) {
    rejectsArg(() => IoContext.setup(n as number), `IoContext.setup(${show(n)})`);
  }
  for (const o of [null, 'x', 1, true, { reap: 'ring' }, { reap: 1 }, { reap: null }]) {
    rejectsArg(() => IoContext.setup(4, o as never), `IoContext.setup(4, ${show(o)})`);
  }
});

test('Iocb prep methods, rwFlags and setEventfd', (t) => {
  const file = directFile(t, 4096, 'badargs');
  if (!file) return;
  const { fd } = file;
  const buf = allocAligned(4096);
  const cb = new Iocb();
  const unchanged = (): void => {
    assert.equal(cb.opcode, -1, 'a refused prep changed the Iocb');
    assert.equal(cb.fd, -1);
    assert.equal(cb.buffer, undefined);
  };
  for (const f of BAD_FDS) {
    for (const [name, call] of [
      ['prepPread', () => cb.prepPread(f as number, buf, 0)],
      ['prepPwrite', () => cb.prepPwrite(f as number, buf, 0)],
      ['prepPreadv', () => cb.prepPreadv(f as number, [buf], 0)],
      ['prepPwritev', () => cb.prepPwritev(f as number, [buf], 0)],
      ['prepFsync', () => cb.prepFsync(f as number)],
      ['prepFdsync', () => cb.prepFdsync(f as number)],
      ['prepPoll', () => cb.prepPoll(f as number, POLL.IN)],
      ['setEventfd', () => cb.setEventfd(f as number)],
    ] as const) {
      rejectsArg(call, `${name}(fd ${show(f)})`);
      unchanged();
    }
  }
  for (const b of BAD_BUFFERS) {
    rejectsArg(() => cb.prepPread(fd, b as never, 0), `prepPread(buf ${show(b)})`);
    rejectsArg(() => cb.prepPwrite(fd, b as never, 0), `prepPwrite(buf ${show(b)})`);
    rejectsArg(() => cb.prepPreadv(fd, [buf, b] as never, 0), `prepPreadv([buf, ${show(b)}])`);
    rejectsArg(() => cb.prepPwritev(fd, [b] as never, 0), `prepPwritev([${show(b)}])`);
    unchanged();
  }
  // eslint-disable-next-line no-sparse-arrays
  for (const bufs of [null, undefined, buf, 'x', {}, new Set([buf]), { length: 1, 0: buf }, [[buf]], [, buf], new Array(1025).fill(buf)]) {
    rejectsArg(() => cb.prepPreadv(fd, bufs as never, 0), `prepPreadv(${show(bufs)})`);
    rejectsArg(() => cb.prepPwritev(fd, bufs as never, 0), `prepPwritev(${show(bufs)})`);
    unchanged();
  }
  for (const off of BAD_OFFSETS) {
    rejectsArg(() => cb.prepPread(fd, buf, off as number), `prepPread(offset ${show(off)})`);
    rejectsArg(() => cb.prepPwrite(fd, buf, off as number), `prepPwrite(offset ${show(off)})`);
    rejectsArg(() => cb.prepPreadv(fd, [buf], off as number), `prepPreadv(offset ${show(off)})`);
    rejectsArg(() => cb.prepPwritev(fd, [buf], off as number), `prepPwritev(offset ${show(off)})`);
    unchanged();
  }
  for (const ev of [...NOT_NUMBERS, ...BAD_INTS, 0x10000, 2 ** 32]) {
    rejectsArg(() => cb.prepPoll(fd, ev as number), `prepPoll(events ${show(ev)})`);
    unchanged();
  }
  for (const flags of [...NOT_NUMBERS, ...BAD_INTS, 2 ** 32]) {
    rejectsArg(() => {
      cb.rwFlags = flags as number;
    }, `rwFlags = ${show(flags)}`);
    assert.equal(cb.rwFlags, 0);
  }
  // 1024 buffers (IOV_MAX) are allowed; the largest offset too.
  cb.prepPreadv(fd, new Array(1024).fill(buf), 0);
  cb.prepPread(fd, buf, Number.MAX_SAFE_INTEGER);
  assert.equal(cb.offset, Number.MAX_SAFE_INTEGER);
});

test('a buffer detached after prep is refused at submit, and nothing stays in flight', (t) => {
  const file = directFile(t, 8192, 'detach');
  if (!file) return;
  const { fd, path } = file;
  using ctx = IoContext.setup(4);
  fs.writeSync(fd, allocAligned(8192).fill(7), 0, 8192, 0);
  const a = allocAligned(4096);
  const b = allocAligned(4096);
  const single = new Iocb().prepPread(fd, a, 0);
  const vec = new Iocb().prepPwritev(fd, [b, allocAligned(4096)], 0);
  const good = new Iocb().prepPread(fd, allocAligned(4096), 4096);
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] });
  // Many rounds: a slot lost per refused batch would fill the context.
  for (let round = 0; round < ctx.capacity + 10; round++) {
    for (const batch of [[single], [vec], [good, single], [good, vec]]) {
      rejectsArg(() => ctx.submit(batch), `submit with a detached buffer (batch of ${batch.length})`);
      for (const c of batch) assert.equal(c.inFlight, false);
      assert.equal(ctx.inFlight, 0);
    }
  }
  // The file is as it was: the vectored write did not shift its second buffer to offset 0.
  assert.ok(fs.readFileSync(path).every((x) => x === 7));
  // Every slot was given back: the context still takes requests.
  const more = Array.from({ length: 8 }, () => new Iocb().prepPread(fd, allocAligned(4096), 0));
  assert.equal(ctx.submit(more), 8);
  const evs = ctx.getEvents(8, 8);
  assert.equal(evs.length, 8);
  for (const ev of evs) assert.equal(ev.res, 4096);
});

test('IoContext methods', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  const fake = Object.create(Iocb.prototype) as Iocb;
  for (const arg of [null, undefined, 'x', 1, {}, cb, { length: 1, 0: cb }, new Set([cb]), [null], [{}], [1], [cb, 'x'], [cb, {}], [cb, fake]]) {
    rejectsArg(() => ctx.submit(arg as never), `submit(${show(arg)})`);
    assert.equal(cb.inFlight, false, `submit(${show(arg)}) left the first Iocb marked in flight`);
    assert.equal(ctx.inFlight, 0);
  }
  // eslint-disable-next-line no-sparse-arrays
  rejectsArg(() => ctx.submit([, cb] as never), 'submit([hole, cb])');

  const badNr: unknown[] = [...NOT_NUMBERS, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32];
  const badTimeout: unknown[] = [null, '10', {}, [], 10n, true, -1, NaN, -Infinity, -0.5];
  for (const nr of badNr) {
    rejectsArg(() => ctx.getEvents(0, nr as number), `getEvents(0, ${show(nr)})`);
    await assert.rejects(ctx.waitEvents(0, nr as number), (e: unknown) => e instanceof TypeError || e instanceof RangeError, `waitEvents(0, ${show(nr)})`);
  }
  for (const min of [...badNr, 5]) {
    rejectsArg(() => ctx.getEvents(min as number, 4, 0), `getEvents(${show(min)}, 4)`);
    await assert.rejects(ctx.waitEvents(min as number, 4, 0), (e: unknown) => e instanceof TypeError || e instanceof RangeError, `waitEvents(${show(min)}, 4)`);
  }
  for (const to of badTimeout) {
    rejectsArg(() => ctx.getEvents(0, 1, to as number), `getEvents(0, 1, ${show(to)})`);
    await assert.rejects(ctx.waitEvents(0, 1, to as number), (e: unknown) => e instanceof TypeError || e instanceof RangeError, `waitEvents(0, 1, ${show(to)})`);
  }
  // waitEvents reports bad arguments through its promise, never synchronously.
  assert.doesNotThrow(() => ctx.waitEvents(NaN, -1, 'x' as never).catch(() => {}));

  for (const arg of [null, undefined, 'x', 1, {}, [cb]]) rejectsArg(() => ctx.cancel(arg as never), `cancel(${show(arg)})`);
  // An object that only inherits Iocb's prototype is not an Iocb.
  rejectsArg(() => ctx.cancel(fake), 'cancel(Object.create(Iocb.prototype))');
  assert.throws(() => ctx.cancel(cb), /not in flight/);

  // After all that, the context works.
  assert.equal(ctx.submit([cb]), 1);
  fifo.write();
  const [ev] = await ctx.waitEvents(1, 1, 5000);
  assert.equal(ev!.obj, cb);
  assert.deepEqual(ctx.stats().submitted, 1);
});

test('eventfd and eventfdRead', (t) => {
  for (const v of [...NOT_NUMBERS.filter((x) => x !== undefined), ...BAD_INTS, 2 ** 32]) {
    rejectsArg(() => eventfd(v as number), `eventfd(${show(v)})`);
  }
  for (const v of BAD_FDS) rejectsArg(() => eventfdRead(v as number), `eventfdRead(${show(v)})`);
  const efd = eventfd(3);
  t.after(() => fs.closeSync(efd));
  assert.equal(eventfdRead(efd), 3);
  assert.equal(eventfdRead(efd), 0);
  // A descriptor that is not open is the kernel's error, as AioError.
  const closed = eventfd();
  fs.closeSync(closed);
  assert.throws(() => eventfdRead(closed), (e: unknown) => e instanceof AioError && e.code === 'EBADF' && e.syscall === 'read');
});

test('the addon itself, called with garbage in a child process, throws and never crashes', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const script = fileURLToPath(new URL('./helpers/native-abuse.js', import.meta.url));
  const child = spawnSync(process.execPath, [script], {
    env: { ...process.env, LINUX_AIO_NATIVE_ABUSE_CHILD: '1', LINUX_AIO_ABUSE_DIR: diskDir().dir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.signal, null, `the child died of ${child.signal}\n${child.stderr}`);
  assert.equal(child.status, 0, `the child exited ${child.status}\n${child.stderr}`);
  const results = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as AbuseResult);
  assert.ok(results.length > 60, `only ${results.length} calls reported`);
  const by = new Map(results.map((r) => [r.label, r]));
  // Everything not listed here must be refused with TypeError or RangeError
  // before the kernel sees it.
  const expected = new Map<string, string[]>([
    // The kernel's own refusals, as AioError.
    ['fileFacts(999999)', ['AioError']],
    ['eventfdRead(999999)', ['AioError']],
    ['fallocate(999999, 0, 0, 10)', ['AioError']],
    ['fallocate(fd, 0xff, 0, 10)', ['AioError']],
    ['an errno error with AioError restored', ['AioError']],
    ['submit after destroy', ['AioError']],
    ['reap after destroy', ['AioError']],
    ['pread with resfd of a regular file', ['AioError']],
    // Accepted by the kernel or refused by it, depending on the kernel.
    ['pread with rwFlags 2**31', ['AioError', 'returned', 'RangeError']],
    ['pread with reqprio 99999', ['AioError', 'returned', 'RangeError']],
    // Harmless, so they return.
    ['cancel(slot 0, never used)', ['returned']],
    ['destroy(handle)', ['returned']],
    ['destroy(handle) again', ['returned']],
    ['arm after destroy', ['returned']],
    ['reap(nr huge, timeout -Infinity, nothing in flight)', ['returned']],
    ['setErrorClass(arrow function)', ['returned']],
    ['addressMod(detached, 4096)', ['returned']],
    // Node-API's own refusal of a non-boolean is a plain Error.
    ['arm(handle, "yes")', ['Error', 'TypeError']],
    ['an errno error with a broken error class', ['Error', 'TypeError']],
  ]);
  for (const r of results) {
    const kinds = expected.get(r.label) ?? ['TypeError', 'RangeError'];
    assert.ok(kinds.includes(r.outcome), `${r.label}: ${r.outcome} ${r.message ?? JSON.stringify(r.value)} (expected ${kinds.join(' or ')})`);
  }
  for (const label of expected.keys()) assert.ok(by.has(label), `no result for ${label}`);
  assert.equal(by.get('cancel(slot 0, never used)')!.value, 22, 'io_cancel of an unused slot is EINVAL');
  assert.equal(by.get('reap(nr huge, timeout -Infinity, nothing in flight)')!.value, 0);
  t.diagnostic(`${results.length} direct addon calls, none crashed`);
});

test('new IoQueue refuses options it does not know how to honour', () => {
  assert.throws(() => new IoQueue({ reap: 'sometimes' as never }), TypeError);
  assert.throws(() => new IoQueue(null as never), TypeError);
  assert.throws(() => new IoQueue({ depth: 0 }), RangeError);
  assert.throws(() => new IoQueue({ depth: 1.5 }), RangeError);
  assert.throws(() => new IoQueue({ reapInline: 'yes' as never }), TypeError);
});
