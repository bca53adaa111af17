/**
 * Faults, each against the real kernel: misaligned direct I/O, the shape of
 * AioError, a closed fd, a file system that refuses O_DIRECT, a destroyed
 * context, and an Iocb that is still in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoContext, Iocb, POLL, allocAligned, errnoName, open } from '../src/index.js';
import { native } from '../src/core/native.js';
import { diskDir, openDirect, directFile } from './helpers/disk.js';
import { makeFifo } from './helpers/fifo.js';

const BS = 4096;
const EINVAL = 22;

test('misaligned buffer, offset or length: the kernel answers -EINVAL in the event', (t) => {
  const file = directFile(t, 4 * BS, 'misalign');
  if (!file) return;
  const { fd, path } = file;
  using ctx = IoContext.setup(8);
  const facts = native.fileFacts(fd);
  t.diagnostic(`DIO alignment here: memory ${facts.dioMemAlign}, offset ${facts.dioOffsetAlign}`);
  if (facts.dioMemAlign <= 1 || facts.dioOffsetAlign <= 1) {
    return t.skip(`this file system allows DIO at memory ${facts.dioMemAlign} / offset ${facts.dioOffsetAlign}: nothing is misaligned`);
  }
  // Real blocks, not holes: a read of a hole only zeroes memory and is not
  // checked for alignment.
  fs.writeSync(fd, allocAligned(4 * BS).fill(0x11), 0, 4 * BS, 0);
  const backing = allocAligned(3 * BS).fill(0x99);
  const cases: { name: string; cb: Iocb }[] = [
    { name: 'buffer at an odd address', cb: new Iocb().prepPread(fd, backing.subarray(1, 1 + BS), 0) },
    { name: 'buffer off by half the required alignment', cb: new Iocb().prepPread(fd, backing.subarray(facts.dioMemAlign / 2, facts.dioMemAlign / 2 + BS), 0) },
    { name: 'offset 100', cb: new Iocb().prepPread(fd, allocAligned(BS), 100) },
    { name: 'length not a multiple of the block', cb: new Iocb().prepPread(fd, allocAligned(BS + 1), 0) },
    { name: 'write at an odd address', cb: new Iocb().prepPwrite(fd, backing.subarray(1, 1 + BS), 0) },
    { name: 'write at offset 100', cb: new Iocb().prepPwrite(fd, allocAligned(BS).fill(0x99), 100) },
    { name: 'readv with one misaligned buffer', cb: new Iocb().prepPreadv(fd, [allocAligned(BS), backing.subarray(3, 3 + BS)], 0) },
  ];
  cases.forEach((c, i) => (c.cb.data = i));
  // The low-level API hands the requests to the kernel as they are: they are
  // accepted, and each completes with -EINVAL.
  assert.equal(ctx.submit(cases.map((c) => c.cb)), cases.length);
  const evs = ctx.getEvents(cases.length, cases.length);
  assert.equal(evs.length, cases.length);
  for (const ev of evs) {
    const c = cases[ev.data as number]!;
    assert.equal(ev.res, -EINVAL, `${c.name}: res ${ev.res}`);
    assert.equal(ev.res2, 0);
  }
  // Nothing was written by the misaligned writes.
  assert.ok(fs.readFileSync(path).every((b) => b === 0x11));
  // The control: the same requests aligned succeed.
  const ok = new Iocb().prepPread(fd, backing.subarray(facts.dioMemAlign, facts.dioMemAlign + BS), facts.dioOffsetAlign);
  ctx.submit([ok]);
  assert.equal(ctx.getEvents(1, 1)[0]!.res, BS);
});

test('AioError has code, negative errno, syscall, hint, and is an Error', () => {
  const e = new AioError(-9, 'io_submit', 'fd 12 is not open');
  assert.ok(e instanceof Error);
  assert.ok(e instanceof AioError);
  assert.equal(e.name, 'AioError');
  assert.equal(e.code, 'EBADF');
  assert.equal(e.errno, -9);
  assert.equal(e.syscall, 'io_submit');
  assert.equal(e.hint, 'fd 12 is not open');
  assert.match(e.message, /^EBADF: .*io_submit.*fd 12 is not open/);
  assert.ok(typeof e.stack === 'string' && e.stack.includes('AioError'));
  // A positive errno is stored negative, as Node does.
  const p = new AioError(11, 'io_setup');
  assert.equal(p.errno, -11);
  assert.equal(p.code, 'EAGAIN');
  assert.equal(p.hint, undefined);
  assert.doesNotMatch(p.message, /undefined/);
  assert.equal(new AioError(22, 'x').code, 'EINVAL');
  // An errno Node has no name for still gives an E-code.
  assert.equal(errnoName(22), 'EINVAL');
  assert.equal(errnoName(-125), 'ECANCELED');
  assert.match(errnoName(4000), /^E\d+$/);
  assert.match(new AioError(4000, 'x').code, /^E\d+$/);
});

test('a closed fd: submit throws AioError EBADF from io_submit and nothing stays in flight', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(BS, 'closed');
  // Opened before `fd` is closed, so that it cannot reuse its number.
  const { fd: fd2, path: path2 } = openDirect(BS, 'open');
  using ctx = IoContext.setup(4);
  t.after(() => {
    fs.closeSync(fd2);
    fs.rmSync(path, { force: true });
    fs.rmSync(path2, { force: true });
  });
  const cb = new Iocb().prepPread(fd, allocAligned(BS), 0);
  fs.closeSync(fd);
  assert.throws(() => ctx.submit([cb]), (err: unknown) => {
    assert.ok(err instanceof AioError, String(err));
    assert.equal(err.code, 'EBADF');
    assert.equal(err.errno, -9);
    assert.equal(err.syscall, 'io_submit');
    assert.ok(err.hint && err.hint.includes(String(fd)) && /not open|closed/.test(err.hint), `hint: ${err.hint}`);
    return true;
  });
  assert.equal(cb.inFlight, false);
  assert.equal(ctx.inFlight, 0);
  assert.equal(ctx.stats().submitted, 0);
  // A good request before the bad one is taken; the bad one is not.
  const good = new Iocb().prepPread(fd2, allocAligned(BS), 0);
  const bad = new Iocb().prepPread(fd, allocAligned(BS), 0);
  assert.equal(ctx.submit([good, bad]), 1);
  assert.equal(good.inFlight, true);
  assert.equal(bad.inFlight, false);
  assert.throws(() => ctx.submit([bad]), { code: 'EBADF' });
  // A closed eventfd is named as such.
  const viaEventfd = new Iocb().prepPread(fd2, allocAligned(BS), 0).setEventfd(fd);
  assert.throws(() => ctx.submit([viaEventfd]), (err: unknown) =>
    err instanceof AioError && err.code === 'EBADF' && /eventfd/.test(err.hint ?? ''));
  assert.equal(viaEventfd.inFlight, false);
  const evs = ctx.getEvents(1, 4, 2000);
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.obj, good);
  assert.equal(evs[0]!.res, BS);
  // An fd closed after submit: the kernel holds its own reference, the
  // request completes normally.
  const { fd: fd3, path: path3 } = openDirect(BS, 'late-close');
  t.after(() => fs.rmSync(path3, { force: true }));
  fs.writeSync(fd3, allocAligned(BS).fill(0x33), 0, BS, 0);
  const late = new Iocb().prepPread(fd3, allocAligned(BS), 0);
  ctx.submit([late]);
  fs.closeSync(fd3);
  const [le] = ctx.getEvents(1, 1);
  assert.equal(le!.res, BS);
  assert.ok((late.buffer as Buffer).every((b) => b === 0x33));
});

/** This process's descriptors open on `target`. */
function fdsOpenOn(target: string): string[] {
  const real = fs.realpathSync(target);
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === real;
    } catch {
      return false;
    }
  });
}

test('file systems that refuse O_DIRECT: open() rejects with AioError EINVAL and a hint; { direct: false } opens', async (t) => {
  // procfs and sysfs files have no direct I/O: the kernel refuses the flag at
  // open, before any AIO request can be made.
  const candidates = ['/proc/self/status', '/proc/sys/fs/aio-nr', '/sys/kernel/mm/transparent_hugepage/enabled'];
  let tried = 0;
  for (const p of candidates) {
    if (!fs.existsSync(p)) continue;
    tried++;
    await assert.rejects(open(p, 'r'), (err: unknown) => {
      assert.ok(err instanceof AioError, `${p}: ${String(err)}`);
      assert.equal(err.code, 'EINVAL', p);
      assert.equal(err.errno, -22);
      assert.equal(err.syscall, 'open');
      assert.match(err.hint ?? '', /refuses O_DIRECT/, `${p}: hint ${err.hint}`);
      assert.ok(err.hint?.includes(p), `${p}: the hint names the path: ${err.hint}`);
      assert.match(err.hint ?? '', /direct: false/, 'the hint gives the way out');
      return true;
    });
    assert.deepEqual(fdsOpenOn(p), [], `${p}: the refused open left a descriptor`);
    // Without O_DIRECT it opens (buffered: io_uring or the thread pool, never
    // Linux AIO): it is the flag that is refused.
    const file = await open(p, 'r', { direct: false });
    try {
      assert.equal(file.direct, false);
      assert.notEqual(file.engine, 'aio');
      assert.ok((await file.read(Buffer.alloc(4096), 0)) > 0, `${p}: read nothing`);
    } finally {
      await file.close();
    }
  }
  if (tried === 0) t.skip(`none of ${candidates.join(', ')} exists here`);
});

test('a destroyed context throws AioError on every use', async (t) => {
  const fifo = makeFifo();
  t.after(() => fifo.close());
  const ctx = IoContext.setup(4);
  const cap = ctx.capacity;
  ctx.destroy();
  assert.equal(ctx.destroyed, true);
  const isDestroyed = (err: unknown): boolean =>
    err instanceof AioError && err.code === 'EINVAL' && /destroyed/.test(err.hint ?? '');
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  assert.throws(() => ctx.submit([cb]), isDestroyed);
  assert.equal(cb.inFlight, false);
  assert.throws(() => ctx.submit([]), isDestroyed);
  assert.throws(() => ctx.getEvents(0, 1), isDestroyed);
  assert.throws(() => ctx.cancel(cb), isDestroyed);
  await assert.rejects(ctx.waitEvents(0, 1), isDestroyed);
  // Destroying again, and disposing, are harmless; the getters still answer.
  ctx.destroy();
  ctx[Symbol.dispose]();
  assert.equal(ctx.capacity, cap);
  assert.equal(ctx.inFlight, 0);
  assert.deepEqual(ctx.stats().submitted, 0);
  // `using` destroys at the end of the block.
  let escaped: IoContext;
  {
    using scoped = IoContext.setup(2);
    escaped = scoped;
    assert.equal(scoped.destroyed, false);
  }
  assert.equal(escaped.destroyed, true);
  assert.throws(() => escaped.submit([cb]), isDestroyed);
});

test('an Iocb in flight cannot be submitted again or changed', async (t) => {
  const fifo = makeFifo();
  const ctx = IoContext.setup(4);
  const other = IoContext.setup(4);
  t.after(() => {
    ctx.destroy();
    other.destroy();
    fifo.close();
  });
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  cb.data = 'kept';
  ctx.submit([cb]);
  assert.equal(cb.inFlight, true);
  assert.throws(() => ctx.submit([cb]), (e: unknown) => e instanceof Error && /already in flight/.test(e.message));
  assert.throws(() => other.submit([cb]), /already in flight/);
  assert.throws(() => cb.prepPoll(fifo.readFd, POLL.OUT), /in flight/);
  assert.throws(() => cb.prepPread(fifo.readFd, allocAligned(BS), 0), /in flight/);
  assert.throws(() => cb.prepFsync(fifo.readFd), /in flight/);
  assert.throws(() => cb.setEventfd(fifo.readFd), /in flight/);
  assert.throws(() => {
    cb.rwFlags = 1;
  }, /in flight/);
  // The refusals changed nothing.
  assert.equal(cb.pollEvents, POLL.IN);
  assert.equal(cb.rwFlags, 0);
  assert.equal(cb.eventfd, -1);
  assert.equal(ctx.inFlight, 1);
  assert.equal(other.inFlight, 0);
  // A batch holding an in-flight Iocb is refused as a whole.
  const fresh = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  assert.throws(() => ctx.submit([fresh, cb]), /iocbs\[1\] is already in flight/);
  assert.equal(fresh.inFlight, false);
  assert.equal(ctx.inFlight, 1);
  // The same Iocb twice in one batch is refused too.
  assert.throws(() => other.submit([fresh, fresh]), /iocbs\[1\] is already in flight/);
  assert.equal(fresh.inFlight, false);
  assert.equal(other.inFlight, 0);
  // Never prepared.
  assert.throws(() => ctx.submit([new Iocb()]), /never prepared/);
  // Once reaped it is free again.
  fifo.write();
  const [ev] = await ctx.waitEvents(1, 1, 5000);
  assert.equal(ev!.obj, cb);
  assert.equal(ev!.data, 'kept');
  assert.equal(cb.inFlight, false);
  cb.prepPoll(fifo.readFd, POLL.IN);
  assert.equal(other.submit([cb]), 1);
  const [ev2] = other.getEvents(1, 1, 2000);
  assert.equal(ev2!.obj, cb);
});

test('requests the kernel refuses at submit: AioError EINVAL, nothing in flight', (t) => {
  const fifo = makeFifo();
  using ctx = IoContext.setup(4);
  t.after(() => fifo.close());
  // An O_RDWR FIFO waits on two queues, which AIO poll does not support.
  const rw = fs.openSync(fifo.path, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  t.after(() => fs.closeSync(rw));
  const cb = new Iocb().prepPoll(rw, POLL.IN);
  assert.throws(() => ctx.submit([cb]), (e: unknown) => e instanceof AioError && e.code === 'EINVAL' && e.syscall === 'io_submit');
  assert.equal(cb.inFlight, false);
  assert.equal(ctx.inFlight, 0);
  // Poll does not take rwFlags.
  const flagged = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  flagged.rwFlags = 1;
  assert.throws(() => ctx.submit([flagged]), { code: 'EINVAL' });
  assert.equal(flagged.inFlight, false);
  assert.equal(ctx.inFlight, 0);
});
