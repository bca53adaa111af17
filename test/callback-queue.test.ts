/**
 * libaio's convenience layer: ioSetCallback stores a callback as the Iocb's
 * data, ioQueueRun reaps what is ready and calls each callback once with
 * (ctx, iocb, res, res2), ioQueueWait waits for completions from the event
 * loop first; a callback that throws does not lose the other completions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  IoContext, Iocb, POLL, allocAligned, ioQueueInit, ioQueueRelease, ioQueueRun, ioQueueWait, ioSetCallback,
  ioFsync, ioFdsync, ioPoll, MissingCallbackError, type IoCallback,
} from '../src/index.js';
import { randomFile } from './helpers/disk.js';
import { pollContext } from './helpers/fifo.js';

const BS = 4096;

interface Call {
  ctx: IoContext;
  iocb: Iocb;
  res: number;
  res2: number;
}

function recorder(): { calls: Call[]; cb: IoCallback } {
  const calls: Call[] = [];
  return { calls, cb: (ctx, iocb, res, res2) => void calls.push({ ctx, iocb, res, res2 }) };
}

test('ioQueueInit makes a context, ioQueueRelease destroys it; bad arguments throw', async () => {
  const ctx = ioQueueInit(4);
  assert.ok(ctx instanceof IoContext);
  assert.equal(ctx.maxEvents, 4);
  assert.equal(ctx.destroyed, false);
  ioQueueRelease(ctx);
  assert.equal(ctx.destroyed, true);
  ioQueueRelease(ctx); // as destroy(): a second release does nothing
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => ioQueueInit(bad), RangeError, `ioQueueInit(${bad})`);
  assert.throws(() => ioQueueInit('4' as never), TypeError);
  for (const bad of [undefined, null, {}, 'ctx']) {
    assert.throws(() => ioQueueRelease(bad as never), TypeError);
    assert.throws(() => ioQueueRun(bad as never), TypeError);
  }
  assert.throws(() => ioSetCallback({} as never, () => {}), TypeError);
  assert.throws(() => ioSetCallback(new Iocb(), 'f' as never), TypeError);
  assert.throws(() => ioQueueRun(ctx), /destroyed/);
  await assert.rejects(ioQueueWait(ctx, 10), /destroyed/);
  const other = ioQueueInit(1);
  await assert.rejects(ioQueueWait(other, 'soon' as never), TypeError);
  ioQueueRelease(other);
});

test('ioQueueWait then ioQueueRun: each read calls its own callback once, with res and the bytes in place', async (t) => {
  const COUNT = 8;
  const file = randomFile(t, COUNT * BS, 'callbacks');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const ctx = ioQueueInit(COUNT);
  t.after(() => {
    ioQueueRelease(ctx);
    fs.closeSync(fd);
  });
  const seen = new Map<number, Call>();
  const iocbs = Array.from({ length: COUNT }, (_, i) => {
    const cb = new Iocb().prepPread(fd, allocAligned(BS), i * BS);
    assert.equal(ioSetCallback(cb, (c, iocb, res, res2) => {
      assert.ok(!seen.has(i), `callback ${i} ran twice`);
      seen.set(i, { ctx: c, iocb, res, res2 });
    }), cb);
    assert.equal(typeof cb.data, 'function', 'the callback takes the place of data, as in libaio');
    return cb;
  });
  assert.equal(ioQueueRun(ctx), 0, 'nothing submitted yet');
  assert.equal(ctx.submit(iocbs), COUNT);
  let ran = await ioQueueWait(ctx, 5000);
  assert.ok(ran >= 1, 'ioQueueWait resolved before any callback ran');
  for (let spin = 0; ran < COUNT && spin < 500; spin++) {
    ran += ioQueueRun(ctx);
    if (ran < COUNT) ran += await ioQueueWait(ctx, 100);
  }
  assert.equal(ran, COUNT);
  assert.equal(seen.size, COUNT);
  for (const [i, call] of seen) {
    assert.equal(call.ctx, ctx);
    assert.equal(call.iocb, iocbs[i]);
    assert.equal(call.res, BS);
    assert.equal(call.res2, 0);
    assert.deepEqual(call.iocb.buffer, file.data.subarray(i * BS, (i + 1) * BS), `block ${i}`);
  }
  assert.equal(ctx.inFlight, 0);
  assert.equal(ioQueueRun(ctx), 0, 'a second run finds nothing');
});

test('ioQueueRun does not wait; ioPoll completes through its callback with the events that fired', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const { calls, cb } = recorder();
  const iocb = new Iocb();
  assert.equal(ioPoll(ctx, iocb, cb, fifo.readFd, POLL.IN), 1);
  const t0 = performance.now();
  assert.equal(ioQueueRun(ctx), 0);
  assert.ok(performance.now() - t0 < 100, 'ioQueueRun waited');
  assert.equal(calls.length, 0);
  setTimeout(() => fifo.write('x'), 20);
  assert.equal(await ioQueueWait(ctx, 5000), 1);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.iocb, iocb);
  assert.ok((calls[0]!.res & POLL.IN) !== 0, `res ${calls[0]!.res}`);
});

test('ioQueueWait resolves 0 on timeout, and at once with nothing in flight', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  let t0 = performance.now();
  assert.equal(await ioQueueWait(ctx), 0);
  assert.ok(performance.now() - t0 < 100, 'waited with nothing in flight');
  const { calls, cb } = recorder();
  ioPoll(ctx, new Iocb(), cb, fifo.readFd, POLL.IN);
  t0 = performance.now();
  assert.equal(await ioQueueWait(ctx, 50), 0);
  const waited = performance.now() - t0;
  assert.ok(waited >= 40 && waited < 2000, `waited ${waited.toFixed(1)} ms for a 50 ms timeout`);
  assert.equal(calls.length, 0);
  fifo.write('y');
  assert.equal(await ioQueueWait(ctx, 5000), 1);
  assert.equal(calls.length, 1);
});

test('ioFsync and ioFdsync call back with res 0', async (t) => {
  const file = randomFile(t, BS, 'fsync-cb');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDWR);
  const ctx = ioQueueInit(4);
  t.after(() => {
    ioQueueRelease(ctx);
    fs.closeSync(fd);
  });
  const { calls, cb } = recorder();
  const a = new Iocb();
  const b = new Iocb();
  assert.equal(ioFsync(ctx, a, cb, fd), 1);
  assert.equal(ioFdsync(ctx, b, cb, fd), 1);
  let ran = 0;
  for (let spin = 0; ran < 2 && spin < 100; spin++) ran += await ioQueueWait(ctx, 1000);
  assert.equal(ran, 2);
  assert.deepEqual(new Set(calls.map((c) => c.iocb)), new Set([a, b]));
  for (const c of calls) assert.equal(c.res, 0);
  // A bad callback is refused before anything is prepared or submitted.
  const idle = new Iocb().prepPread(fd, allocAligned(BS), 0);
  assert.throws(() => ioFsync(ctx, idle, 'nope' as never, fd), TypeError);
  assert.equal(idle.opcode, 0, 'the Iocb was re-prepared although the call was refused');
  assert.equal(ctx.inFlight, 0);
});

test('a throwing callback does not lose the others: one error is rethrown, several become an AggregateError', (t) => {
  const { ctx, fifo } = pollContext(t, 8);
  const ran: string[] = [];
  const boom = (name: string): IoCallback => () => {
    ran.push(name);
    throw new Error(`boom ${name}`);
  };
  const fine: IoCallback = () => void ran.push('fine');
  // A poll for POLLOUT on a pipe with room completes inside io_submit, so
  // its completion is ready when submit returns.
  const submitOut = (cbs: IoCallback[]): void => {
    assert.equal(ctx.submit(cbs.map((f) => ioSetCallback(new Iocb().prepPoll(fifo.writeFd, POLL.OUT), f))), cbs.length);
  };

  submitOut([boom('a'), fine]);
  assert.throws(() => ioQueueRun(ctx), /boom a/);
  assert.deepEqual(ran.sort(), ['a', 'fine']);
  assert.equal(ctx.inFlight, 0);

  ran.length = 0;
  submitOut([boom('b'), fine, boom('c')]);
  assert.throws(() => ioQueueRun(ctx), (err: unknown) => {
    assert.ok(err instanceof AggregateError);
    assert.deepEqual(err.errors.map((e: Error) => e.message).sort(), ['boom b', 'boom c']);
    return true;
  });
  assert.deepEqual(ran.sort(), ['b', 'c', 'fine']);
  assert.equal(ctx.inFlight, 0);

  // No callback at all: the event is handed back in the error.
  ran.length = 0;
  const bare = new Iocb().prepPoll(fifo.writeFd, POLL.OUT);
  bare.data = 'not a function';
  ctx.submit([bare, ioSetCallback(new Iocb().prepPoll(fifo.writeFd, POLL.OUT), fine)]);
  assert.throws(() => ioQueueRun(ctx), (err: unknown) => {
    assert.ok(err instanceof MissingCallbackError && err instanceof TypeError);
    assert.equal(err.event.obj, bare);
    assert.equal(err.event.data, 'not a function');
    assert.ok((err.event.res & POLL.OUT) !== 0);
    return true;
  });
  assert.deepEqual(ran, ['fine']);
  assert.equal(ctx.inFlight, 0);
});
