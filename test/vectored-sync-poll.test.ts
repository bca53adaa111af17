/**
 * The request kinds beyond plain reads and writes: preadv/pwritev over
 * several buffers, fsync and fdsync, poll on a FIFO, io_cancel, and routing a
 * completion to the caller's own eventfd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { IoContext, Iocb, Opcode, POLL, allocAligned, eventfd, eventfdRead } from '../src/index.js';
import { diskDir, openDirect, directFile } from './helpers/disk.js';
import { makeFifo, pollContext } from './helpers/fifo.js';

const BS = 4096;
const ECANCELED = 125;

function pattern(len: number, seed: number): Buffer {
  const b = allocAligned(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7 + (i >> 12)) & 0xff;
  return b;
}

test('pwritev gathers several buffers and preadv scatters them back', async (t) => {
  const file = directFile(t, 0, 'vec');
  if (!file) return;
  const { fd, path } = file;
  using ctx = IoContext.setup(8);
  const parts = [pattern(BS, 1), pattern(2 * BS, 2), pattern(BS, 3), pattern(3 * BS, 4)];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const at = 2 * BS;
  const w = new Iocb().prepPwritev(fd, parts, at);
  assert.equal(w.opcode, Opcode.PWRITEV);
  w.data = 'writev';
  assert.equal(ctx.submit([w]), 1);
  const [we] = await ctx.waitEvents(1, 1);
  assert.equal(we!.obj, w);
  assert.equal(we!.data, 'writev');
  assert.equal(we!.res, total);

  // The file holds the parts back to back from `at`, checked apart from AIO.
  const onDisk = fs.readFileSync(path);
  assert.equal(onDisk.length, at + total);
  assert.ok(onDisk.subarray(0, at).every((b) => b === 0), 'bytes before the write were touched');
  assert.deepEqual(onDisk.subarray(at), Buffer.concat(parts));

  // Read back with the same split: each buffer gets its own part.
  const same = parts.map((p) => allocAligned(p.length).fill(0xee));
  // And with another split, to show the order of the scatter.
  const other = [allocAligned(3 * BS), allocAligned(BS), allocAligned(3 * BS)].map((b) => b.fill(0xee));
  const r1 = new Iocb().prepPreadv(fd, same, at);
  const r2 = new Iocb().prepPreadv(fd, other, at);
  assert.equal(ctx.submit([r1, r2]), 2);
  const evs = ctx.getEvents(2, 2);
  assert.equal(evs.length, 2);
  for (const ev of evs) assert.equal(ev.res, total);
  for (let i = 0; i < parts.length; i++) assert.deepEqual(same[i], parts[i], `buffer ${i} of the same split`);
  const joined = Buffer.concat(parts);
  let off = 0;
  for (let i = 0; i < other.length; i++) {
    assert.deepEqual(other[i], joined.subarray(off, off + other[i]!.length), `buffer ${i} of the other split`);
    off += other[i]!.length;
  }
  assert.equal((r1.buffer as readonly Buffer[]).length, same.length);

  // A vectored read across the end of the file stops there: res counts only
  // the bytes before the end (what lands in buffers past it is the kernel's
  // business: ext4 zeroes them).
  const tail = [allocAligned(BS).fill(1), allocAligned(BS).fill(2)];
  const r3 = new Iocb().prepPreadv(fd, tail, at + total - BS);
  ctx.submit([r3]);
  const [e3] = ctx.getEvents(1, 1);
  assert.equal(e3!.res, BS);
  assert.deepEqual(tail[0], parts[3]!.subarray(2 * BS));

  // An empty vector is a request of zero bytes.
  const r4 = new Iocb().prepPreadv(fd, [], 0);
  ctx.submit([r4]);
  assert.equal(ctx.getEvents(1, 1)[0]!.res, 0);
});

test('fsync and fdsync complete with res 0', async (t) => {
  const file = directFile(t, 0, 'sync');
  if (!file) return;
  const { fd } = file;
  using ctx = IoContext.setup(8);
  const w = new Iocb().prepPwrite(fd, pattern(BS, 9), 0);
  ctx.submit([w]);
  assert.equal((await ctx.waitEvents(1, 1))[0]!.res, BS);

  const fsync = new Iocb().prepFsync(fd);
  const fdsync = new Iocb().prepFdsync(fd);
  assert.equal(fsync.opcode, Opcode.FSYNC);
  assert.equal(fdsync.opcode, Opcode.FDSYNC);
  fsync.data = 'fsync';
  fdsync.data = 'fdsync';
  assert.equal(ctx.submit([fsync, fdsync]), 2);
  const evs = await ctx.waitEvents(2, 2);
  assert.equal(evs.length, 2);
  const byData = new Map(evs.map((e) => [e.data, e]));
  assert.equal(byData.get('fsync')!.obj, fsync);
  assert.equal(byData.get('fsync')!.res, 0);
  assert.equal(byData.get('fdsync')!.obj, fdsync);
  assert.equal(byData.get('fdsync')!.res, 0);
  for (const e of evs) assert.equal(e.res2, 0);

  // The same Iocb can be used again once reaped.
  fsync.prepFsync(fd);
  ctx.submit([fsync]);
  assert.equal(ctx.getEvents(1, 1)[0]!.res, 0);

  // fsync of a FIFO is refused by the kernel, either at submit or in the
  // completion, as EINVAL.
  const fifo = makeFifo();
  t.after(() => fifo.close());
  const bad = new Iocb().prepFsync(fifo.readFd);
  let res: number;
  try {
    ctx.submit([bad]);
    res = ctx.getEvents(1, 1)[0]!.res;
  } catch (err) {
    res = (err as { errno: number }).errno;
  }
  assert.equal(res, -22);
});

test('a poll on a FIFO completes only after data arrives, with POLLIN in res', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  assert.equal(cb.opcode, Opcode.POLL);
  assert.equal(cb.pollEvents, POLL.IN);
  cb.data = { tag: 'poll' };
  assert.equal(ctx.submit([cb]), 1);
  await sleep(30);
  assert.deepEqual(ctx.getEvents(0, 4), [], 'the poll completed with nothing written');
  assert.equal(cb.inFlight, true);
  assert.equal(ctx.inFlight, 1);
  const started = performance.now();
  setTimeout(() => fifo.write('hello'), 40);
  const [ev] = await ctx.waitEvents(1, 1, 5000);
  const waited = performance.now() - started;
  assert.ok(ev, 'no completion within 5 s of the write');
  assert.ok(waited >= 30, `completed after ${waited.toFixed(1)} ms, before the write`);
  assert.equal(ev.obj, cb);
  assert.deepEqual(ev.data, { tag: 'poll' });
  assert.ok(ev.res > 0 && (ev.res & POLL.IN) !== 0, `res ${ev.res} lacks POLLIN`);
  assert.equal(ev.res & POLL.HUP, 0);
  assert.equal(fs.readSync(fifo.readFd, Buffer.alloc(16)), 5);

  // With data already waiting, a poll completes at once.
  fifo.write('again');
  cb.prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([cb]);
  const [again] = ctx.getEvents(1, 1, 2000);
  assert.ok(again && (again.res & POLL.IN) !== 0);

  // Polling the write end for POLLOUT completes at once too (the pipe has room).
  const out = new Iocb().prepPoll(fifo.writeFd, POLL.OUT);
  ctx.submit([out]);
  const [oe] = ctx.getEvents(1, 1, 2000);
  assert.ok(oe && (oe.res & POLL.OUT) !== 0, `POLLOUT res ${oe?.res}`);
});

test('cancel: a pending poll is cancelled and its completion still arrives', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  cb.data = 7;
  ctx.submit([cb]);
  assert.equal(ctx.cancel(cb), true);
  const evs = await ctx.waitEvents(1, 1, 5000);
  assert.equal(evs.length, 1, 'the cancelled poll never completed');
  assert.equal(evs[0]!.obj, cb);
  assert.equal(evs[0]!.data, 7);
  // The kernel completes a cancelled poll with the events seen (none) or -ECANCELED.
  assert.ok(evs[0]!.res === 0 || evs[0]!.res === -ECANCELED, `res ${evs[0]!.res}`);
  assert.equal(cb.inFlight, false);
  assert.equal(ctx.inFlight, 0);
  // Reaped: no longer in flight, so cancel refuses it.
  assert.throws(() => ctx.cancel(cb), (e: unknown) => e instanceof Error && /not in flight/.test(e.message));
  // Never submitted: the same.
  assert.throws(() => ctx.cancel(new Iocb().prepPoll(fifo.readFd, POLL.IN)), /not in flight/);
  // In flight on another context: this one refuses it.
  using other = IoContext.setup(2);
  const elsewhere = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  other.submit([elsewhere]);
  assert.throws(() => ctx.cancel(elsewhere), /not in flight on this context/);
  assert.equal(other.cancel(elsewhere), true);
  assert.equal((await other.waitEvents(1, 1, 5000)).length, 1);
});

test('cancel of a file read: false while in flight or completed-unreaped, throws once reaped; a user eventfd is signalled', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(0, 'cancel');
  const efd = eventfd();
  using ctx = IoContext.setup(4);
  t.after(() => {
    fs.closeSync(efd);
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  fs.writeSync(fd, pattern(BS, 5), 0, BS, 0);
  assert.equal(eventfdRead(efd), 0, 'a fresh eventfd reads 0');

  const buf = allocAligned(BS);
  const cb = new Iocb().prepPread(fd, buf, 0).setEventfd(efd);
  assert.equal(cb.eventfd, efd);
  assert.equal(ctx.submit([cb]), 1);
  // Completion is signalled on our eventfd: wait for it without reaping.
  let signalled = 0;
  for (let i = 0; i < 400 && signalled === 0; i++) {
    signalled = eventfdRead(efd);
    if (signalled === 0) await sleep(5);
  }
  assert.ok(signalled >= 1, 'the user eventfd was never signalled');
  // Completed but not yet reaped: still ours, but the kernel cannot cancel
  // a regular file read.
  assert.equal(cb.inFlight, true);
  assert.equal(ctx.cancel(cb), false);
  const [ev] = ctx.getEvents(1, 1, 2000);
  assert.ok(ev);
  assert.equal(ev.obj, cb);
  assert.equal(ev.res, BS);
  assert.deepEqual(buf, pattern(BS, 5));
  assert.throws(() => ctx.cancel(cb), /not in flight/);
  assert.equal(eventfdRead(efd), 0, 'the eventfd was signalled again with nothing completing');

  // prep* resets the eventfd to the context's own.
  cb.prepPread(fd, buf, 0);
  assert.equal(cb.eventfd, -1);
  ctx.submit([cb]);
  assert.equal((await ctx.waitEvents(1, 1, 5000)).length, 1);
  assert.equal(eventfdRead(efd), 0, 'a request without setEventfd signalled the user eventfd');

  // Several requests on one user eventfd add up.
  const many = Array.from({ length: 3 }, () => new Iocb().prepPread(fd, allocAligned(BS), 0).setEventfd(efd));
  many.forEach((c, i) => (c.data = i));
  ctx.submit(many);
  const got = ctx.getEvents(3, 3, 5000);
  assert.equal(got.length, 3);
  let sum = 0;
  for (let i = 0; i < 100 && sum < 3; i++) {
    sum += eventfdRead(efd);
    if (sum < 3) await sleep(2);
  }
  assert.equal(sum, 3);
});
