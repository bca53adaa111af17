/**
 * What the low-level API documents about the kernel, tried on the kernel:
 * how many requests a context takes, what io_cancel does per opcode, that
 * RWF.HIPRI is accepted and ignored by AIO, and that IOCB_CMD_NOOP is not
 * offered because the kernel refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoContext, Iocb, Opcode, POLL, RWF, allocAligned } from '../src/index.js';
import { CMD, native } from '../src/core/native.js';
import { URING_NOP } from '../src/core/uring.js';
import { directFile, randomFile } from './helpers/disk.js';
import { pollContext } from './helpers/fifo.js';

const BS = 4096;

test('capacity: the kernel takes at least maxEvents and never more than capacity', (t) => {
  for (const maxEvents of [1, 8, 200]) {
    const { ctx, fifo } = pollContext(t, maxEvents);
    assert.ok(ctx.capacity >= maxEvents, `capacity ${ctx.capacity} < maxEvents ${maxEvents}`);
    // Polls nobody answers stay in flight: fill the context until the kernel says EAGAIN.
    let accepted = 0;
    for (;;) {
      const room = ctx.capacity - ctx.inFlight;
      if (room === 0) break;
      const batch = Array.from({ length: room }, () => new Iocb().prepPoll(fifo.readFd, POLL.IN));
      let n: number;
      try {
        n = ctx.submit(batch);
      } catch (err) {
        assert.ok(err instanceof AioError && err.code === 'EAGAIN', String(err));
        break;
      }
      accepted += n;
      if (n < batch.length) break;
    }
    t.diagnostic(`setup(${maxEvents}): capacity ${ctx.capacity}, the kernel took ${accepted}`);
    assert.ok(accepted >= maxEvents, `the kernel took ${accepted} of maxEvents ${maxEvents}`);
    assert.ok(accepted <= ctx.capacity);
    fifo.write('x');
    let reaped = 0;
    for (let spin = 0; reaped < accepted && spin < 100; spin++) reaped += ctx.getEvents(1, ctx.capacity, 1000).length;
    assert.equal(reaped, accepted);
  }
});

test('cancel, per opcode: a poll is cancelled and completes with res 0; reads, writes and fsync are not', (t) => {
  const { ctx, fifo } = pollContext(t, 8);
  const poll = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([poll]);
  assert.equal(ctx.cancel(poll), true);
  const [ev] = ctx.getEvents(1, 1, 5000);
  assert.equal(ev?.obj, poll);
  assert.equal(ev?.res, 0, 'a cancelled poll completes with the events ready (none), not -ECANCELED');

  const file = directFile(t, 4 * BS, 'cancel-ops');
  if (!file) return;
  const ops = [
    new Iocb().prepPread(file.fd, allocAligned(BS), 0),
    new Iocb().prepPwrite(file.fd, allocAligned(BS), BS),
    new Iocb().prepPreadv(file.fd, [allocAligned(BS)], 2 * BS),
    new Iocb().prepFsync(file.fd),
    new Iocb().prepFdsync(file.fd),
  ];
  assert.equal(ctx.submit(ops), ops.length);
  for (const cb of ops) assert.equal(ctx.cancel(cb), false, `opcode ${cb.opcode} was cancelled`);
  const events = ctx.getEvents(ops.length, ops.length, 5000);
  assert.equal(events.length, ops.length);
  for (const e of events) {
    assert.equal(e.res, e.obj.opcode === Opcode.FSYNC || e.obj.opcode === Opcode.FDSYNC ? 0 : BS, `opcode ${e.obj.opcode} did not run to completion`);
  }
});

test('RWF.HIPRI: Linux AIO accepts the flag and completes the request as usual', (t) => {
  const file = randomFile(t, BS, 'hipri');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  using ctx = IoContext.setup(2);
  t.after(() => fs.closeSync(fd));
  const cb = new Iocb().prepPreadv2(fd, [allocAligned(BS)], 0, RWF.HIPRI);
  assert.equal(cb.rwFlags, RWF.HIPRI);
  ctx.submit([cb]);
  const [ev] = ctx.getEvents(1, 1, 5000);
  assert.equal(ev?.res, BS);
  assert.deepEqual((cb.buffer as Buffer[])[0], file.data);
});

test('IOCB_CMD_NOOP: not in Opcode, because Linux AIO refuses it with EINVAL', (t) => {
  assert.equal('NOOP' in Opcode, false);
  assert.ok(!(Object.values(Opcode) as number[]).includes(URING_NOP));
  // No Iocb can carry it: the row is written the way C reads it.
  const s = native.setup(2, false, () => {});
  t.after(() => native.destroy(s.handle));
  const row = { SLOT: 0, OPCODE: URING_NOP, FD: 0, OFFSET: 0, RW_FLAGS: 0, RESFD: -1, REQPRIO: -1, AUX: 0 };
  for (const [k, v] of Object.entries(row)) s.cmd[CMD[k as keyof typeof CMD]] = v;
  assert.throws(() => native.submit(s.handle, 1, [undefined]), (e: unknown) => e instanceof AioError && e.code === 'EINVAL' && e.syscall === 'io_submit');
});
