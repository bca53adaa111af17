/**
 * waitEvents waits on the context's eventfd from the event loop: timers keep
 * firing meanwhile, a timeout resolves with what has come, and destroy()
 * rejects whoever is still waiting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AioError, IoContext, Iocb, POLL, allocAligned } from '../src/index.js';
import { directFile } from './helpers/disk.js';
import { makeFifo, pollContext } from './helpers/fifo.js';

test('waitEvents resolves while a setInterval timer keeps firing', { timeout: 10_000 }, async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([cb]);
  let ticks = 0;
  const interval = setInterval(() => ticks++, 10);
  let writtenAt = 0;
  setTimeout(() => {
    writtenAt = performance.now();
    fifo.write('tick');
  }, 100);
  const started = performance.now();
  try {
    const evs = await ctx.waitEvents(1, 1);
    const resolvedAt = performance.now();
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.obj, cb);
    assert.ok((evs[0]!.res & POLL.IN) !== 0);
    assert.ok(writtenAt > 0, 'resolved before the data was written');
    // (Measured from the write, not from the start: a timer counts from the
    // loop's cached clock, which may lag performance.now() on a busy machine.)
    assert.ok(resolvedAt >= writtenAt, `resolved ${(writtenAt - resolvedAt).toFixed(1)} ms before the data was written`);
    t.diagnostic(`resolved ${(resolvedAt - started).toFixed(1)} ms after the call, ${(resolvedAt - writtenAt).toFixed(1)} ms after the write`);
    assert.ok(resolvedAt - writtenAt < 1000, 'the completion took a second to wake the loop');
    assert.ok(ticks >= 3, `the interval fired ${ticks} times in ~100 ms of waiting`);
  } finally {
    clearInterval(interval);
  }
  assert.equal(ctx.inFlight, 0);
});

test('waitEvents with a timeout resolves with [] when nothing completes', { timeout: 10_000 }, async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  // Nothing in flight at all.
  let t0 = performance.now();
  assert.deepEqual(await ctx.waitEvents(1, 4, 40), []);
  assert.ok(performance.now() - t0 >= 35);
  // A poll nobody answers.
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([cb]);
  t0 = performance.now();
  assert.deepEqual(await ctx.waitEvents(1, 1, 60), []);
  const ms = performance.now() - t0;
  assert.ok(ms >= 55, `resolved after ${ms.toFixed(1)} ms`);
  assert.ok(ms < 2000);
  assert.equal(cb.inFlight, true);
  // Timeout 0 and minNr 0 resolve at once.
  t0 = performance.now();
  assert.deepEqual(await ctx.waitEvents(1, 1, 0), []);
  assert.deepEqual(await ctx.waitEvents(0, 1), []);
  assert.ok(performance.now() - t0 < 100);
  // Fewer than minNr by the timeout: what came is delivered, not lost.
  const fifo2 = makeFifo();
  t.after(() => fifo2.close());
  const cb2 = new Iocb().prepPoll(fifo2.readFd, POLL.IN);
  ctx.submit([cb2]);
  fifo2.write();
  const partial = await ctx.waitEvents(2, 2, 80);
  assert.equal(partial.length, 1);
  assert.equal(partial[0]!.obj, cb2);
  assert.equal(ctx.inFlight, 1);
  assert.equal(ctx.cancel(cb), true);
  assert.equal((await ctx.waitEvents(1, 1, 5000)).length, 1);
});

test('waitEvents with a timeout beyond 2^31 ms does not expire early', { timeout: 10_000 }, async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const cb = new Iocb();
  for (const timeout of [2 ** 31, 3e9, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE]) {
    cb.prepPoll(fifo.readFd, POLL.IN);
    ctx.submit([cb]);
    const p = ctx.waitEvents(1, 1, timeout);
    const winner = await Promise.race([p.then((e) => `resolved with ${e.length}`), sleep(60, 'still waiting')]);
    assert.equal(winner, 'still waiting', `waitEvents(1, 1, ${timeout}) ended early`);
    fifo.write();
    const evs = await p;
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.obj, cb);
    fs.readSync(fifo.readFd, Buffer.alloc(16));
  }
  await sleep(0);
  assert.deepEqual(warnings.map((w) => w.name), [], 'a timer overflowed');
});

test('several waiters are served in order', { timeout: 10_000 }, async (t) => {
  const fifoA = makeFifo();
  const fifoB = makeFifo();
  const ctx = IoContext.setup(4);
  t.after(() => {
    ctx.destroy();
    fifoA.close();
    fifoB.close();
  });
  const a = new Iocb().prepPoll(fifoA.readFd, POLL.IN);
  const b = new Iocb().prepPoll(fifoB.readFd, POLL.IN);
  ctx.submit([a, b]);
  const w1 = ctx.waitEvents(1, 1);
  const w2 = ctx.waitEvents(1, 1);
  setTimeout(() => fifoB.write(), 20);
  setTimeout(() => fifoA.write(), 60);
  const [e1, e2] = await Promise.all([w1, w2]);
  assert.equal(e1!.length, 1);
  assert.equal(e2!.length, 1);
  assert.equal(e1![0]!.obj, b, 'the first waiter gets the first completion');
  assert.equal(e2![0]!.obj, a);
});

test('completions that came before the call resolve it without waiting', { timeout: 10_000 }, async (t) => {
  const file = directFile(t, 4096, 'wait-done');
  if (!file) return;
  const { fd } = file;
  using ctx = IoContext.setup(4);
  const cbs = [0, 1, 2].map(() => new Iocb().prepPread(fd, allocAligned(4096), 0));
  ctx.submit(cbs);
  await sleep(30);
  const reapsBefore = ctx.stats().reapCalls;
  let settled = false;
  const waiting = ctx.waitEvents(3, 3).finally(() => {
    settled = true;
  });
  // Reaped inside the call, from the ring: not through the eventfd, which
  // only the event loop's next poll phase would see.
  assert.equal(ctx.inFlight, 0, 'the completions were not reaped inside the call');
  assert.equal(ctx.stats().reapCalls, reapsBefore + 1);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(settled, true, 'the promise waited for a turn of the event loop');
  const evs = await waiting;
  assert.equal(evs.length, 3);
  assert.deepEqual(new Set(evs.map((e) => e.obj)), new Set(cbs));
  for (const e of evs) assert.equal(e.res, 4096);
});

test('destroy() while waitEvents is pending rejects it', { timeout: 10_000 }, async (t) => {
  const fifo = makeFifo();
  t.after(() => fifo.close());
  const ctx = IoContext.setup(4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([cb]);
  const pending = ctx.waitEvents(1, 1);
  const withTimeout = ctx.waitEvents(1, 1, 60_000);
  await sleep(20);
  ctx.destroy();
  await assert.rejects(pending, (err: unknown) =>
    err instanceof AioError && err.code === 'EINVAL' && err.syscall === 'io_destroy' && /destroyed/.test(err.hint ?? ''));
  await assert.rejects(withTimeout, AioError);
  assert.equal(ctx.destroyed, true);
  assert.equal(ctx.inFlight, 0);
  assert.equal(cb.inFlight, false, 'the poll is still marked in flight after destroy');
  // The Iocb is free for another context.
  using ctx2 = IoContext.setup(2);
  cb.prepPoll(fifo.readFd, POLL.IN);
  ctx2.submit([cb]);
  fifo.write();
  assert.equal((await ctx2.waitEvents(1, 1, 5000))[0]!.obj, cb);
  // A destroyed context refuses new waits.
  await assert.rejects(ctx.waitEvents(0, 1), AioError);
});
