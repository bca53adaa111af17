/**
 * getEvents follows io_getevents as the guide describes it: minNr = 0 never
 * blocks, a timeout may return fewer than minNr, the result holds at most nr
 * events, and without a timeout it refuses to wait for more than can come.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { IoContext, Iocb, POLL, allocAligned, eventfd, eventfdRead } from '../src/index.js';
import { diskDir, openDirect, directFile } from './helpers/disk.js';
import { makeFifo, pollContext } from './helpers/fifo.js';

const BS = 4096;

function elapsed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

/** Waits until `n` completions have signalled `efd` (without reaping them). */
async function waitSignalled(efd: number, n: number): Promise<void> {
  let sum = 0;
  for (let i = 0; i < 1000 && sum < n; i++) {
    sum += eventfdRead(efd);
    if (sum < n) await sleep(2);
  }
  assert.ok(sum >= n, `only ${sum} of ${n} completions signalled`);
}

for (const reap of ['auto', 'syscall'] as const) {
  test(`[${reap}] minNr = 0 returns at once, with or without requests in flight`, (t) => {
    const fifo = makeFifo();
    const ctx = IoContext.setup(8, { reap });
    t.after(() => {
      ctx.destroy();
      fifo.close();
    });
    // Nothing in flight.
    for (const timeout of [undefined, 0, 1000, Infinity]) {
      const { value, ms } = elapsed(() => ctx.getEvents(0, 8, timeout));
      assert.deepEqual(value, []);
      assert.ok(ms < 100, `getEvents(0, 8, ${timeout}) took ${ms.toFixed(1)} ms`);
    }
    assert.deepEqual(ctx.getEvents(0, 0), []);
    // A poll nobody will answer is in flight: still no waiting.
    const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
    ctx.submit([cb]);
    for (const timeout of [undefined, 1000]) {
      const { value, ms } = elapsed(() => ctx.getEvents(0, 8, timeout));
      assert.deepEqual(value, []);
      assert.ok(ms < 100, `getEvents(0, 8, ${timeout}) with a pending poll took ${ms.toFixed(1)} ms`);
    }
    assert.equal(ctx.inFlight, 1);
    assert.equal(ctx.cancel(cb), true);
    assert.equal(ctx.getEvents(1, 1, 5000).length, 1);
  });

  test(`[${reap}] a timeout returns early with fewer than minNr`, (t) => {
    const fifo = makeFifo();
    const ctx = IoContext.setup(8, { reap });
    t.after(() => {
      ctx.destroy();
      fifo.close();
    });
    const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
    ctx.submit([cb]);
    const { value, ms } = elapsed(() => ctx.getEvents(1, 1, 50));
    assert.deepEqual(value, []);
    assert.ok(ms >= 45, `returned after ${ms.toFixed(1)} ms, before the 50 ms timeout`);
    assert.ok(ms < 1000, `returned after ${ms.toFixed(1)} ms`);
    assert.equal(cb.inFlight, true);
    // A fractional timeout is honoured, not rounded to zero.
    const frac = elapsed(() => ctx.getEvents(1, 1, 20.5));
    assert.deepEqual(frac.value, []);
    assert.ok(frac.ms >= 18, `20.5 ms timeout returned after ${frac.ms.toFixed(1)} ms`);
    // Timeout 0 polls.
    const zero = elapsed(() => ctx.getEvents(1, 1, 0));
    assert.deepEqual(zero.value, []);
    assert.ok(zero.ms < 50);
    // minNr beyond what is in flight is allowed with a timeout: the timeout ends it.
    const over = elapsed(() => ctx.getEvents(3, 4, 30));
    assert.deepEqual(over.value, []);
    assert.ok(over.ms >= 25);
    // Once data arrives the same call returns the completion at once.
    fifo.write();
    const done = elapsed(() => ctx.getEvents(1, 1, 5000));
    assert.equal(done.value.length, 1);
    assert.equal(done.value[0]!.obj, cb);
    assert.ok((done.value[0]!.res & POLL.IN) !== 0);
    assert.ok(done.ms < 1000);
  });

  test(`[${reap}] the upper bound nr is respected; the rest come later`, async (t) => {
    const { skip } = diskDir();
    if (skip) return t.skip(skip);
    const { fd, path } = openDirect(0, 'bound');
    const efd = eventfd();
    const ctx = IoContext.setup(16, { reap });
    t.after(() => {
      ctx.destroy();
      fs.closeSync(efd);
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
    });
    const content = allocAligned(10 * BS);
    for (let i = 0; i < 10; i++) content.fill(i + 1, i * BS, (i + 1) * BS);
    fs.writeSync(fd, content, 0, content.length, 0);
    const cbs = Array.from({ length: 10 }, (_, i) => {
      const cb = new Iocb().prepPread(fd, allocAligned(BS), i * BS).setEventfd(efd);
      cb.data = i;
      return cb;
    });
    assert.equal(ctx.submit(cbs), 10);
    // All ten have completed (each signalled our eventfd) before we reap.
    await waitSignalled(efd, 10);
    const first = ctx.getEvents(1, 3);
    assert.equal(first.length, 3, `getEvents(1, 3) returned ${first.length} with 10 completed`);
    assert.equal(ctx.inFlight, 7);
    const second = ctx.getEvents(0, 1);
    assert.equal(second.length, 1);
    const third = ctx.getEvents(2, 4, 1000);
    assert.equal(third.length, 4);
    const rest = ctx.getEvents(0, 100);
    assert.equal(rest.length, 2);
    assert.equal(ctx.inFlight, 0);
    assert.deepEqual(ctx.getEvents(0, 100), []);
    const all = [...first, ...second, ...third, ...rest];
    assert.deepEqual(all.map((e) => e.data as number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const e of all) {
      assert.equal(e.res, BS);
      const buf = e.obj.buffer as Buffer;
      assert.ok(buf.every((b) => b === (e.data as number) + 1), `block ${String(e.data)} has the wrong data`);
    }
    // nr = 0 returns nothing even when completions wait.
    const more = cbs.slice(0, 2).map((c, i) => c.prepPread(fd, allocAligned(BS), i * BS).setEventfd(efd));
    ctx.submit(more);
    await waitSignalled(efd, 2);
    assert.deepEqual(ctx.getEvents(0, 0), []);
    assert.equal(ctx.inFlight, 2);
    assert.equal(ctx.getEvents(2, 2).length, 2);
  });
}

test('without a timeout, minNr above the requests in flight throws RangeError instead of hanging', (t) => {
  const { ctx, fifo } = pollContext(t, 8);
  assert.throws(() => ctx.getEvents(1, 1), RangeError);
  assert.throws(() => ctx.getEvents(1, 8, undefined), RangeError);
  assert.throws(() => ctx.getEvents(1, 8, Infinity), RangeError, 'Infinity is no timeout');
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  ctx.submit([cb]);
  assert.throws(() => ctx.getEvents(2, 2), /exceeds the requests in flight \(1\)/);
  // minNr above nr is refused whatever is in flight.
  assert.throws(() => ctx.getEvents(2, 1, 10), RangeError);
  assert.equal(ctx.inFlight, 1, 'a refused call must not reap');
  fifo.write();
  const [ev] = ctx.getEvents(1, 1);
  assert.equal(ev!.obj, cb);
});

test('IoEvent carries data, obj, res and res2; obj is the submitted Iocb', (t) => {
  const file = directFile(t, 0, 'shape');
  if (!file) return;
  const { fd } = file;
  using ctx = IoContext.setup(4);
  const w = allocAligned(BS).fill(0x5a);
  fs.writeSync(fd, w, 0, BS, 0);
  const tag = { request: 'mine', n: 42 };
  const cb = new Iocb();
  assert.equal(cb.data, undefined);
  cb.data = tag;
  const buf = allocAligned(BS);
  cb.prepPread(fd, buf, 0);
  assert.equal(cb.data, tag, 'prep* must keep data');
  ctx.submit([cb]);
  const evs = ctx.getEvents(1, 1);
  assert.equal(evs.length, 1);
  const ev = evs[0]!;
  assert.deepEqual(Object.keys(ev).sort(), ['data', 'obj', 'res', 'res2']);
  assert.equal(ev.data, tag);
  assert.equal(ev.obj, cb);
  assert.equal(ev.obj.buffer, buf);
  assert.equal(ev.obj.fd, fd);
  assert.equal(ev.obj.offset, 0);
  assert.equal(ev.res, BS);
  assert.equal(ev.res2, 0);
  assert.deepEqual(buf, w);
  // data of any kind comes back as it was, undefined included.
  for (const data of [undefined, null, 0, 'x', Symbol.for('s'), 2n ** 70n]) {
    cb.prepPread(fd, allocAligned(BS), 0);
    cb.data = data;
    ctx.submit([cb]);
    assert.equal(ctx.getEvents(1, 1)[0]!.data, data);
  }
  // A read at the end of the file completes with res 0.
  cb.prepPread(fd, allocAligned(BS), BS);
  ctx.submit([cb]);
  assert.equal(ctx.getEvents(1, 1)[0]!.res, 0);
});

test('a huge timeout waits like no timeout: the completion ends it', async (t) => {
  const { ctx, fifo } = pollContext(t, 4);
  const cb = new Iocb().prepPoll(fifo.readFd, POLL.IN);
  for (const timeout of [2 ** 31, 1e15, 1e300, Number.MAX_VALUE]) {
    cb.prepPoll(fifo.readFd, POLL.IN);
    ctx.submit([cb]);
    // getEvents blocks this thread, so the data comes from another process.
    const writer = spawn('sh', ['-c', `sleep 0.1; printf x > '${fifo.path}'`], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    const { value, ms } = elapsed(() => ctx.getEvents(1, 1, timeout));
    assert.equal(value.length, 1, `getEvents(1, 1, ${timeout}) returned without the completion`);
    assert.equal(value[0]!.obj, cb);
    assert.ok((value[0]!.res & POLL.IN) !== 0);
    assert.ok(ms >= 50, `getEvents(1, 1, ${timeout}) returned after ${ms.toFixed(1)} ms, before the write`);
    await exited;
    fs.readSync(fifo.readFd, Buffer.alloc(8));
  }
});
